-- wrk script for benches/compare/run.sh: a client-credentials token
-- request with HTTP Basic (conf-client:conf-secret), the same bytes sent to
-- both servers.
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic Y29uZi1jbGllbnQ6Y29uZi1zZWNyZXQ="
