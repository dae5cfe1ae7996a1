//! Email and SMS alerts through AWS: SMS with SNS `Publish` to a phone number
//! ([`SnsSmsSender`]), email with SES v2 `SendEmail` ([`SesEmailSender`], simple content: subject,
//! text and HTML body, the edit URL included since email is a private target).
//!
//! Errors never carry the phone number or the address in full: the service's message is kept
//! (it says what to fix, e.g. an unverified identity in the SES sandbox) with the recipient
//! replaced by its redacted form.
//!
//! | variable | meaning |
//! |---|---|
//! | `SES_FROM` | SES sender (a verified identity), e.g. `clips@example.com`; unset = no SES |
//! | `SES_CONFIGURATION_SET` | optional SES configuration set (bounce/complaint events) |
//! | `CLIPPER_SMS_ORIGINATION_NUMBER` | optional origination number (`AWS.MM.SMS.OriginationNumber`) |
//! | `CLIPPER_SMS_SENDER_ID` | optional alphanumeric sender id (`AWS.SNS.SMS.SenderID`) |

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sns::types::MessageAttributeValue;

use super::{error_code, sdk_error};
use crate::notify::email::{html, subject};
use crate::notify::payload::{sms, text};
use crate::notify::{Alert, Attempt, MessageSender, NoMessages, NotifyTarget, SmtpSender};

fn var(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

/// A failed SDK call as an [`Attempt`]: throttling, 5xx and network → retry; anything else
/// refused (a redelivery may try again). `secret` (the number or address) is replaced by
/// `label` in the message.
fn attempt<E>(
    service: &'static str,
    operation: &'static str,
    e: SdkError<E, HttpResponse>,
    secret: &str,
    label: &str,
) -> Attempt
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error_code(&e).map(str::to_owned);
    let err = sdk_error(service, operation, e);
    // The recipient in full and, for a number, its digits without `+` (as some messages
    // spell it).
    let msg = err
        .to_string()
        .replace(secret, label)
        .replace(secret.trim_start_matches('+'), label);
    let throttled = matches!(
        code.as_deref(),
        Some("Throttled" | "ThrottledException" | "TooManyRequestsException")
    );
    if err.is_retryable() || throttled {
        Attempt::Retry(msg)
    } else {
        Attempt::Refused(msg)
    }
}

/// Optional SNS SMS settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnsSettings {
    /// `AWS.MM.SMS.OriginationNumber`: the number (or toll-free / 10DLC) the SMS comes from.
    /// Many destinations (the US among them) need one registered in the account.
    pub origination_number: Option<String>,
    /// `AWS.SNS.SMS.SenderID`: an alphanumeric sender where the country allows it.
    pub sender_id: Option<String>,
}

impl SnsSettings {
    /// From `CLIPPER_SMS_ORIGINATION_NUMBER` and `CLIPPER_SMS_SENDER_ID`.
    pub fn from_env() -> SnsSettings {
        SnsSettings {
            origination_number: var("CLIPPER_SMS_ORIGINATION_NUMBER"),
            sender_id: var("CLIPPER_SMS_SENDER_ID"),
        }
    }
}

/// Sends SMS alerts with SNS `Publish` (`PhoneNumber`, `Transactional`): one short line with
/// the clip link ([`crate::notify::payload::sms`]).
#[derive(Debug, Clone)]
pub struct SnsSmsSender {
    client: aws_sdk_sns::Client,
    settings: SnsSettings,
}

impl SnsSmsSender {
    pub fn new(client: aws_sdk_sns::Client, settings: SnsSettings) -> SnsSmsSender {
        SnsSmsSender { client, settings }
    }

    /// A sender when `aws` can find AWS credentials (environment, profile, container or
    /// instance role), otherwise `None` (SMS targets are then reported as not configured).
    /// For the local pipeline: SMS costs money and needs an account, so it is never assumed.
    pub async fn if_credentials(
        aws: &super::AwsConfig,
        settings: SnsSettings,
    ) -> Option<SnsSmsSender> {
        if aws.has_credentials().await {
            Some(SnsSmsSender::new(aws.sns.clone(), settings))
        } else {
            tracing::info!("no AWS credentials: SMS alerts are off");
            None
        }
    }

    fn attr(value: &str) -> Option<MessageAttributeValue> {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .ok()
    }

    async fn publish(&self, target: &NotifyTarget, number: &str, alert: &Alert) -> Attempt {
        let mut req = self
            .client
            .publish()
            .phone_number(number)
            .message(sms(alert));
        let attrs = [
            ("AWS.SNS.SMS.SMSType", Some("Transactional")),
            (
                "AWS.MM.SMS.OriginationNumber",
                self.settings.origination_number.as_deref(),
            ),
            ("AWS.SNS.SMS.SenderID", self.settings.sender_id.as_deref()),
        ];
        for (k, v) in attrs {
            if let Some(a) = v.and_then(Self::attr) {
                req = req.message_attributes(k, a);
            }
        }
        match req.send().await {
            Ok(out) => {
                tracing::debug!(target = %target, message_id = out.message_id().unwrap_or(""), "SMS published");
                Attempt::Sent
            }
            Err(e) => attempt("sns", "Publish", e, number, &target.to_string()),
        }
    }
}

impl MessageSender for SnsSmsSender {
    async fn send(&self, target: &NotifyTarget, alert: &Alert) -> Attempt {
        match target {
            NotifyTarget::Sms(number) => self.publish(target, number, alert).await,
            other => NoMessages.send(other, alert).await,
        }
    }
}

/// SES settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesSettings {
    /// The sender: an address or domain verified in SES (in the sandbox, recipients must be
    /// verified too).
    pub from: String,
    pub configuration_set: Option<String>,
}

impl SesSettings {
    /// From `SES_FROM` (and `SES_CONFIGURATION_SET`); `None` when `SES_FROM` is unset.
    pub fn from_env() -> Option<SesSettings> {
        Some(SesSettings {
            from: var("SES_FROM")?,
            configuration_set: var("SES_CONFIGURATION_SET"),
        })
    }
}

/// Sends email alerts with SES v2 `SendEmail` (simple content, UTF-8: subject, text and HTML
/// body with the clip link and the edit link).
#[derive(Debug, Clone)]
pub struct SesEmailSender {
    client: aws_sdk_sesv2::Client,
    settings: SesSettings,
}

fn utf8(data: String) -> Option<Content> {
    Content::builder().data(data).charset("UTF-8").build().ok()
}

impl SesEmailSender {
    pub fn new(client: aws_sdk_sesv2::Client, settings: SesSettings) -> SesEmailSender {
        SesEmailSender { client, settings }
    }

    async fn send_email(&self, target: &NotifyTarget, to: &str, alert: &Alert) -> Attempt {
        let (Some(subject), Some(text), Some(html)) = (
            utf8(subject(alert)),
            utf8(text(alert, true)),
            utf8(html(alert)),
        ) else {
            return Attempt::Refused("email content not built".into());
        };
        let content = EmailContent::builder()
            .simple(
                Message::builder()
                    .subject(subject)
                    .body(Body::builder().text(text).html(html).build())
                    .build(),
            )
            .build();
        let res = self
            .client
            .send_email()
            .from_email_address(&self.settings.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(content)
            .set_configuration_set_name(self.settings.configuration_set.clone())
            .send()
            .await;
        match res {
            Ok(out) => {
                tracing::debug!(target = %target, message_id = out.message_id().unwrap_or(""), "email sent with SES");
                Attempt::Sent
            }
            Err(e) => attempt("ses", "SendEmail", e, to, &target.to_string()),
        }
    }
}

impl MessageSender for SesEmailSender {
    async fn send(&self, target: &NotifyTarget, alert: &Alert) -> Attempt {
        match target {
            NotifyTarget::Email(to) => self.send_email(target, to, alert).await,
            other => NoMessages.send(other, alert).await,
        }
    }
}

/// Email on AWS: SES when `SES_FROM` is set, SMTP when `CLIPPER_SMTP_*` is, else none.
#[derive(Debug, Clone)]
pub enum AwsEmail {
    Ses(SesEmailSender),
    Smtp(SmtpSender),
    None,
}

impl MessageSender for AwsEmail {
    async fn send(&self, target: &NotifyTarget, alert: &Alert) -> Attempt {
        match self {
            AwsEmail::Ses(s) => s.send(target, alert).await,
            AwsEmail::Smtp(s) => s.send(target, alert).await,
            AwsEmail::None => NoMessages.send(target, alert).await,
        }
    }
}
