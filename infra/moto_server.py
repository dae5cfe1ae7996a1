"""moto_server with DynamoDB's atomicity: the launcher infra/moto.sh runs.

moto's own `moto_server` serves each request on a thread and its DynamoDB backend takes no lock,
so two conditional writes to one item that arrive together can both pass their condition. Real
DynamoDB applies each single-item write atomically, and our moment claims and token-refresh
leases rely on that (the tests race two workers on purpose). This wraps moto's application so
that DynamoDB requests run one at a time; every other service (SQS long polls, S3) stays
concurrent.

    python3 infra/moto_server.py HOST PORT
"""

import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    dynamodb = threading.Lock()

    def serve(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with dynamodb:
                # The whole response is produced under the lock, not only its headers.
                return list(app(environ, start_response))
        return app(environ, start_response)

    run_simple(host, port, serve, threaded=True)


if __name__ == "__main__":
    main()
