"""moto_server for the IAM test (functions/tests/iam_moto.rs), with one fix to moto 5's S3
signature check: it canonicalises the query string as it received it, decoded, so a request
whose query has a `/` (ListObjectsV2 with `prefix=windows/`) fails with
SignatureDoesNotMatch, even from boto3. Here the query values are re-encoded as SigV4 wants
before the signature is recomputed; the check itself (and every authorisation check) is
moto's own.

    python3 infra/moto_iam_server.py -H 127.0.0.1 -p PORT
"""

import sys
from urllib.parse import parse_qsl, quote, urlsplit

from moto.iam import access_control

_create = access_control.IAMRequestBase._create_aws_request


def _create_encoded(self):
    request = _create(self)
    parts = urlsplit(request.url)
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs
        )
        request.url = parts._replace(query=query).geturl()
    return request


access_control.S3IAMRequest._create_aws_request = _create_encoded

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
