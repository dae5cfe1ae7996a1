//! Least privilege, enforced: the IAM policies of `template.yaml`, resolved against the
//! resources of a test, given to IAM users of a private moto_server that checks every request
//! (`/moto-api/reset-auth`), so that the functions' adapters run with exactly the rights the
//! stack grants them.
//!
//! What moto checks and what it does not (moto 5): it authenticates every request and checks
//! the action of every service, and the resource of S3 (bucket and key ARNs) and SQS (queue
//! ARNs). For DynamoDB and Secrets Manager it checks the action only (it evaluates them against
//! resource `*`), so [`for_moto`] widens those statements' resources to `*` for moto, and
//! [`lint`] checks their resources statically instead: every one names specific ARNs, never a
//! wildcard, except actions AWS only grants on `*`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clipper_functions::aws::AwsConfig;
use serde_json::{json, Map, Value};
use serde_yaml_ng::Value as Yaml;

/// The account id moto uses.
pub const ACCOUNT: &str = "123456789012";
/// The region the tests use.
pub const REGION: &str = "us-east-1";

/// Actions AWS grants only on resource `*` (no resource-level permissions).
pub const STAR_ONLY: &[&str] = &["dynamodb:ListStreams"];

/// Actions that may be granted with `NotResource` (all but some resources): `sns:Publish`
/// straight to a phone number has no resource ARN to name, so the statement excludes every
/// topic and endpoint instead.
pub const NOT_RESOURCE_OK: &[&str] = &["sns:Publish"];

/// A moto_server of one test, on a free loopback port; killed on drop.
#[derive(Debug)]
pub struct PrivateMoto {
    child: Child,
    pub endpoint: String,
}

impl PrivateMoto {
    /// Starts one. `None` (after saying why) when `moto_server` is not installed.
    pub async fn start(test: &str) -> Option<PrivateMoto> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // moto_server with a fix to its S3 signature check (see the script).
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../moto_iam_server.py");
        let child = match Command::new("python3")
            .arg(script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "SKIPPED {test}: cannot start python3 with moto ({e}); `infra/moto.sh install`"
                );
                return None;
            }
        };
        let moto = PrivateMoto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let began = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if http
                .get(format!("{}/moto-api/", moto.endpoint))
                .send()
                .await
                .is_ok()
            {
                return Some(moto);
            }
            assert!(
                began.elapsed() < Duration::from_secs(30),
                "moto_server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// From now on every request must be signed by a known user and allowed by its policies.
    pub async fn enforce(&self) {
        let r = reqwest::Client::new()
            .post(format!("{}/moto-api/reset-auth", self.endpoint))
            .body("0")
            .send()
            .await
            .expect("reset-auth");
        assert!(r.status().is_success(), "reset-auth: {}", r.status());
    }

    /// An IAM user with `policy` inline; returns its access key pair. Only before [`enforce`].
    pub async fn user(&self, name: &str, policy: &Value) -> (String, String) {
        self.iam(&[("Action", "CreateUser"), ("UserName", name)])
            .await;
        let doc = policy.to_string();
        self.iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", name),
            ("PolicyName", "stack"),
            ("PolicyDocument", &doc),
        ])
        .await;
        let xml = self
            .iam(&[("Action", "CreateAccessKey"), ("UserName", name)])
            .await;
        (
            between(&xml, "AccessKeyId"),
            between(&xml, "SecretAccessKey"),
        )
    }

    /// Clients signing as the user with `keys`.
    pub async fn connect_as(&self, keys: &(String, String)) -> AwsConfig {
        let creds = aws_sdk_s3::config::Credentials::new(&keys.0, &keys.1, None, None, "iam-test");
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(creds)
            .load()
            .await;
        AwsConfig::from_shared(&shared, true)
    }

    /// An IAM Query API call; moto routes it by the credential scope, and does not check the
    /// signature before [`enforce`].
    async fn iam(&self, params: &[(&str, &str)]) -> String {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.push(("Version", "2010-05-08"));
        let r = reqwest::Client::new()
            .post(format!("{}/", self.endpoint))
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .form(&form)
            .send()
            .await
            .expect("IAM call");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(status.is_success(), "IAM {params:?}: {status} {text}");
        text
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn between(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).map(|i| i + open.len()).expect(tag);
    let end = xml[start..].find('<').map(|i| start + i).expect(tag);
    xml[start..end].to_string()
}

/// How a template's intrinsic functions resolve in a test: `Ref`s (parameters, pseudo
/// parameters, resources), `GetAtt`s and conditions. A resource the test did not create gets
/// an ARN built from its logical id, so that every policy of the template resolves.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    pub refs: BTreeMap<String, String>,
    pub atts: BTreeMap<String, String>,
    pub conditions: BTreeMap<String, bool>,
}

impl Resolver {
    /// Pseudo parameters, parameter defaults, and a made-up ARN for every resource of
    /// `template` (its `Ref` and `Arn`/`StreamArn` attributes), to be overridden with the test's
    /// real ones.
    pub fn for_template(template: &Template) -> Resolver {
        let mut r = Resolver::default();
        for (k, v) in [
            ("AWS::Partition", "aws"),
            ("AWS::Region", REGION),
            ("AWS::AccountId", ACCOUNT),
            ("AWS::StackName", "clipper-test"),
            ("AWS::URLSuffix", "amazonaws.com"),
        ] {
            r.refs.insert(k.into(), v.into());
        }
        if let Some(Yaml::Mapping(params)) = template.doc.get("Parameters") {
            for (k, v) in params {
                let (Some(k), Some(d)) = (k.as_str(), v.get("Default")) else {
                    continue;
                };
                let d = match d {
                    Yaml::String(s) => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    _ => continue,
                };
                r.refs.insert(k.into(), d);
            }
        }
        if let Some(Yaml::Mapping(res)) = template.doc.get("Resources") {
            for (k, v) in res {
                let (Some(id), Some(ty)) = (k.as_str(), v.get("Type").and_then(|t| t.as_str()))
                else {
                    continue;
                };
                let lower = id.to_lowercase();
                let (reference, arn) = match ty {
                    "AWS::S3::Bucket" => (lower.clone(), format!("arn:aws:s3:::{lower}")),
                    "AWS::SQS::Queue" => (
                        format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{id}"),
                        format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{id}"),
                    ),
                    "AWS::DynamoDB::Table" => (
                        id.to_string(),
                        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{id}"),
                    ),
                    "AWS::SecretsManager::Secret" => {
                        let arn =
                            format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{id}-AbCdEf");
                        (arn.clone(), arn)
                    }
                    "AWS::SNS::Topic" => {
                        let arn = format!("arn:aws:sns:{REGION}:{ACCOUNT}:{id}");
                        (arn.clone(), arn)
                    }
                    _ => (
                        id.to_string(),
                        format!("arn:aws:unknown:{REGION}:{ACCOUNT}:{id}"),
                    ),
                };
                r.refs.insert(id.into(), reference);
                r.atts.insert(format!("{id}.Arn"), arn.clone());
                r.atts.insert(
                    format!("{id}.StreamArn"),
                    format!("{arn}/stream/2026-01-01T00:00:00.000"),
                );
            }
        }
        r
    }

    /// Evaluates the template's `Conditions` (`Fn::Equals`, `Not`, `And`, `Or`, `Condition`)
    /// from the parameter values in `refs`; conditions the test set already are kept.
    pub fn eval_conditions(&mut self, template: &Template) {
        let Some(Yaml::Mapping(conds)) = template.doc.get("Conditions") else {
            return;
        };
        let defs: BTreeMap<String, Yaml> = conds
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
            .collect();
        let names: Vec<String> = defs.keys().cloned().collect();
        for name in names {
            let v = self.condition(&name, &defs, 0);
            self.conditions.entry(name).or_insert(v);
        }
    }

    fn condition(&self, name: &str, defs: &BTreeMap<String, Yaml>, depth: u32) -> bool {
        if let Some(v) = self.conditions.get(name) {
            return *v;
        }
        assert!(depth < 32, "condition {name}: too deep");
        let def = defs
            .get(name)
            .unwrap_or_else(|| panic!("condition {name}: not in the template"));
        self.truth(def, defs, depth + 1)
    }

    fn truth(&self, v: &Yaml, defs: &BTreeMap<String, Yaml>, depth: u32) -> bool {
        let (name, arg) = match v {
            Yaml::Tagged(t) => (
                t.tag.to_string().trim_start_matches('!').to_string(),
                &t.value,
            ),
            Yaml::Mapping(m) if m.len() == 1 => {
                let (k, a) = m.iter().next().expect("one entry");
                let k = k.as_str().unwrap_or_default();
                (k.strip_prefix("Fn::").unwrap_or(k).to_string(), a)
            }
            other => panic!("condition value {other:?}"),
        };
        let items = || match arg {
            Yaml::Sequence(p) => p.clone(),
            other => vec![other.clone()],
        };
        match name.as_str() {
            "Equals" => {
                let p = items();
                let text = |x: &Yaml| {
                    self.resolve(x).map(|j| match j {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                };
                text(&p[0]) == text(&p[1])
            }
            "Not" => !self.truth(&items()[0], defs, depth),
            "And" => items().iter().all(|c| self.truth(c, defs, depth)),
            "Or" => items().iter().any(|c| self.truth(c, defs, depth)),
            "Condition" => self.condition(arg.as_str().expect("condition name"), defs, depth),
            other => panic!("condition function {other} is not modelled"),
        }
    }

    /// Resolves a template value to JSON; `None` is `AWS::NoValue`.
    pub fn resolve(&self, v: &Yaml) -> Option<Value> {
        Some(match v {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => json!(b),
            Yaml::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
            Yaml::String(s) => json!(s),
            Yaml::Sequence(items) => {
                Value::Array(items.iter().filter_map(|i| self.resolve(i)).collect())
            }
            Yaml::Mapping(m) => {
                if m.len() == 1 {
                    if let Some((Yaml::String(k), arg)) = m.iter().next() {
                        if let Some(name) = k.strip_prefix("Fn::").or((k == "Ref").then_some("Ref"))
                        {
                            return self.intrinsic(name, arg);
                        }
                    }
                }
                let mut out = Map::new();
                for (k, v) in m {
                    if let (Some(k), Some(v)) = (k.as_str(), self.resolve(v)) {
                        out.insert(k.to_string(), v);
                    }
                }
                Value::Object(out)
            }
            Yaml::Tagged(t) => {
                let tag = t.tag.to_string();
                return self.intrinsic(tag.trim_start_matches('!'), &t.value);
            }
        })
    }

    fn intrinsic(&self, name: &str, arg: &Yaml) -> Option<Value> {
        let text = |v: &Yaml| self.resolve(v).and_then(|j| j.as_str().map(str::to_string));
        match name {
            "Ref" => {
                let id = arg.as_str().expect("Ref of a name");
                if id == "AWS::NoValue" {
                    return None;
                }
                Some(json!(self
                    .refs
                    .get(id)
                    .unwrap_or_else(|| panic!("Ref {id}: unknown"))))
            }
            "GetAtt" => {
                let key = match arg {
                    Yaml::String(s) => s.clone(),
                    Yaml::Sequence(p) => p
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join("."),
                    _ => panic!("GetAtt {arg:?}"),
                };
                Some(json!(self
                    .atts
                    .get(&key)
                    .unwrap_or_else(|| panic!("GetAtt {key}: unknown"))))
            }
            "Sub" => {
                let (template, vars) = match arg {
                    Yaml::String(s) => (s.clone(), BTreeMap::new()),
                    Yaml::Sequence(p) => {
                        let vars = match p.get(1) {
                            Some(Yaml::Mapping(m)) => m
                                .iter()
                                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), text(v)?)))
                                .collect(),
                            _ => BTreeMap::new(),
                        };
                        (
                            p.first()
                                .and_then(|s| s.as_str())
                                .expect("Sub string")
                                .to_string(),
                            vars,
                        )
                    }
                    _ => panic!("Sub {arg:?}"),
                };
                let mut out = String::new();
                let mut rest = template.as_str();
                while let Some(i) = rest.find("${") {
                    out.push_str(&rest[..i]);
                    let end = rest[i..].find('}').map(|e| i + e).expect("closing }");
                    let key = &rest[i + 2..end];
                    let value = vars
                        .get(key)
                        .or_else(|| {
                            if key.contains('.') && !key.starts_with("AWS::") {
                                self.atts.get(key)
                            } else {
                                self.refs.get(key)
                            }
                        })
                        .unwrap_or_else(|| panic!("Sub ${{{key}}}: unknown"));
                    out.push_str(value);
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Some(json!(out))
            }
            "If" => {
                let Yaml::Sequence(p) = arg else {
                    panic!("If {arg:?}")
                };
                let cond = p.first().and_then(|c| c.as_str()).expect("If condition");
                let holds = *self
                    .conditions
                    .get(cond)
                    .unwrap_or_else(|| panic!("condition {cond}: not set by the test"));
                self.resolve(p.get(if holds { 1 } else { 2 }).expect("If branch"))
            }
            "Join" => {
                let Yaml::Sequence(p) = arg else {
                    panic!("Join {arg:?}")
                };
                let sep = p.first().and_then(|s| s.as_str()).unwrap_or("");
                let items = self.resolve(p.get(1).expect("Join list"))?;
                let parts: Vec<String> = items
                    .as_array()
                    .expect("Join list")
                    .iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect();
                Some(json!(parts.join(sep)))
            }
            other => panic!("intrinsic {other} is not modelled by the IAM test"),
        }
    }
}

/// `template.yaml`, parsed.
#[derive(Debug)]
pub struct Template {
    pub doc: Yaml,
}

/// One policy statement, normalised: actions and resources as lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: String,
    pub effect: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// `NotResource`: everything but these (SMS publishes, which have no resource to name).
    pub not_resources: Vec<String>,
    pub condition: Option<Value>,
}

impl Template {
    /// The repository's template.
    pub fn load(path: &Path) -> Template {
        let text = std::fs::read_to_string(path).expect("read template.yaml");
        Template {
            doc: serde_yaml_ng::from_str(&text).expect("parse template.yaml"),
        }
    }

    /// Logical ids of resources of `ty`.
    pub fn resources_of(&self, ty: &str) -> Vec<String> {
        let Some(Yaml::Mapping(res)) = self.doc.get("Resources") else {
            return Vec::new();
        };
        res.iter()
            .filter(|(_, v)| v.get("Type").and_then(|t| t.as_str()) == Some(ty))
            .filter_map(|(k, _)| k.as_str().map(str::to_string))
            .collect()
    }

    /// The statements granted to a function (`AWS::Serverless::Function` inline policies) or a
    /// role (`AWS::IAM::Role` `Policies[].PolicyDocument`).
    pub fn statements(&self, logical_id: &str, r: &Resolver) -> Vec<Statement> {
        let res = self
            .doc
            .get("Resources")
            .and_then(|m| m.get(logical_id))
            .unwrap_or_else(|| panic!("{logical_id}: not in the template"));
        let policies = res
            .get("Properties")
            .and_then(|p| p.get("Policies"))
            .and_then(|p| r.resolve(p))
            .unwrap_or(Value::Array(Vec::new()));
        let mut out = Vec::new();
        for p in policies.as_array().into_iter().flatten() {
            let doc = p.get("PolicyDocument").unwrap_or(p);
            let Some(stmts) = doc.get("Statement") else {
                panic!("{logical_id}: a policy that is not an inline document ({p}); the IAM test only models inline documents");
            };
            for s in stmts.as_array().into_iter().flatten() {
                let list = |k: &str| -> Vec<String> {
                    match s.get(k) {
                        Some(Value::String(x)) => vec![x.clone()],
                        Some(Value::Array(xs)) => xs
                            .iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect(),
                        _ => Vec::new(),
                    }
                };
                out.push(Statement {
                    sid: s.get("Sid").and_then(|x| x.as_str()).unwrap_or("").into(),
                    effect: s
                        .get("Effect")
                        .and_then(|x| x.as_str())
                        .unwrap_or("")
                        .into(),
                    actions: list("Action"),
                    resources: list("Resource"),
                    not_resources: list("NotResource"),
                    condition: s.get("Condition").cloned(),
                });
            }
        }
        out
    }
}

/// AWS authorises SQS's batch calls by their single-message permission (`SendMessageBatch`
/// needs `sqs:SendMessage`, and so on); moto checks the batch action's own name.
const SQS_BATCH: &[(&str, &str)] = &[
    ("sqs:SendMessage", "sqs:SendMessageBatch"),
    ("sqs:DeleteMessage", "sqs:DeleteMessageBatch"),
    (
        "sqs:ChangeMessageVisibility",
        "sqs:ChangeMessageVisibilityBatch",
    ),
];

/// The policy document moto evaluates: the statements as granted, except that DynamoDB and
/// Secrets Manager statements get resource `*` (moto checks only their action; see the module
/// note) — [`lint`] checks those resources instead — and that SQS batch actions are named
/// beside the single-message permission that grants them on AWS.
pub fn for_moto(stmts: &[Statement]) -> Value {
    let statements: Vec<Value> = stmts
        .iter()
        .map(|s| {
            let action_only = s
                .actions
                .iter()
                .all(|a| a.starts_with("dynamodb:") || a.starts_with("secretsmanager:"));
            let mut actions = s.actions.clone();
            for (single, batch) in SQS_BATCH {
                if s.actions.iter().any(|a| a == single) {
                    actions.push((*batch).to_string());
                }
            }
            let mut v = json!({
                "Effect": s.effect,
                "Action": actions,
                "Resource": if action_only { vec!["*".to_string()] } else { s.resources.clone() },
            });
            if let Some(c) = &s.condition {
                v["Condition"] = c.clone();
            }
            v
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// IAM's wildcard match: `*` any run of characters, `?` exactly one.
pub fn iam_match(pattern: &str, value: &str) -> bool {
    fn go(p: &[u8], v: &[u8]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some((b'*', rest)) => (0..=v.len()).any(|i| go(rest, &v[i..])),
            Some((b'?', rest)) => !v.is_empty() && go(rest, &v[1..]),
            Some((c, rest)) => v.first() == Some(c) && go(rest, &v[1..]),
        }
    }
    go(pattern.as_bytes(), value.as_bytes())
}

/// Least-privilege problems in one function's statements: an `Allow` on every action of a
/// service (`svc:*` or `*`); a resource `*` for an action that has resource-level permissions;
/// a DynamoDB or Secrets Manager resource (checked here, not by moto) that is not a specific
/// ARN (`?` allowed for a secret's random suffix); S3 `GetObject` without an unconditioned
/// `ListBucket` on the bucket (a missing key would be 403, not 404).
pub fn lint(function: &str, stmts: &[Statement]) -> Vec<String> {
    let mut problems = Vec::new();
    for s in stmts.iter().filter(|s| s.effect == "Allow") {
        for a in &s.actions {
            if a == "*" || a.ends_with(":*") {
                problems.push(format!("{function}/{}: action {a}", s.sid));
            }
        }
        if !s.not_resources.is_empty()
            && !s
                .actions
                .iter()
                .all(|a| NOT_RESOURCE_OK.contains(&a.as_str()))
        {
            problems.push(format!(
                "{function}/{}: NotResource for {:?}",
                s.sid, s.actions
            ));
        }
        if s.resources.is_empty() && s.not_resources.is_empty() {
            problems.push(format!("{function}/{}: no resource", s.sid));
        }
        let star_ok = s.actions.iter().all(|a| STAR_ONLY.contains(&a.as_str()));
        for r in &s.resources {
            if r == "*" && !star_ok {
                problems.push(format!(
                    "{function}/{}: resource * for {:?}",
                    s.sid, s.actions
                ));
            }
            let checked_here = s
                .actions
                .iter()
                .any(|a| a.starts_with("dynamodb:") || a.starts_with("secretsmanager:"));
            if checked_here && r != "*" && r.contains('*') {
                problems.push(format!("{function}/{}: wildcard resource {r}", s.sid));
            }
        }
    }
    let gets: Vec<&String> = stmts
        .iter()
        .filter(|s| s.effect == "Allow" && s.actions.iter().any(|a| a == "s3:GetObject"))
        .flat_map(|s| s.resources.iter())
        .collect();
    for object in gets {
        let bucket = object.split('/').next().unwrap_or(object);
        let listed = stmts.iter().any(|s| {
            s.effect == "Allow"
                && s.condition.is_none()
                && s.actions.iter().any(|a| a == "s3:ListBucket")
                && s.resources.iter().any(|r| r == bucket)
        });
        if !listed {
            problems.push(format!(
                "{function}: s3:GetObject on {object} without an unconditioned s3:ListBucket on {bucket} (a missing key is 403, not 404)"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_wildcards() {
        let p = "arn:aws:secretsmanager:r:1:secret:tok-??????";
        assert!(iam_match(p, "arn:aws:secretsmanager:r:1:secret:tok-AbCdEf"));
        assert!(!iam_match(
            p,
            "arn:aws:secretsmanager:r:1:secret:tok-old-AbCdEf"
        ));
        assert!(iam_match(
            "arn:aws:s3:::b/models/*",
            "arn:aws:s3:::b/models/x.json"
        ));
        assert!(!iam_match(
            "arn:aws:s3:::b/models/*",
            "arn:aws:s3:::b/windows/x"
        ));
    }

    #[test]
    fn lint_flags_a_star_and_a_missing_list() {
        let s = |actions: &[&str], resources: &[&str]| Statement {
            sid: "s".into(),
            effect: "Allow".into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resources: resources.iter().map(|a| a.to_string()).collect(),
            not_resources: Vec::new(),
            condition: None,
        };
        assert_eq!(lint("f", &[s(&["dynamodb:ListStreams"], &["*"])]).len(), 0);
        assert_eq!(lint("f", &[s(&["dynamodb:GetItem"], &["*"])]).len(), 1);
        assert_eq!(lint("f", &[s(&["dynamodb:*"], &["arn:t"])]).len(), 1);
        assert_eq!(
            lint("f", &[s(&["s3:GetObject"], &["arn:aws:s3:::b/m/*"])]).len(),
            1
        );
        assert_eq!(
            lint(
                "f",
                &[
                    s(&["s3:GetObject"], &["arn:aws:s3:::b/m/*"]),
                    s(&["s3:ListBucket"], &["arn:aws:s3:::b"])
                ]
            )
            .len(),
            0
        );
    }
}
