# OpenTelemetry SDK exporter settings: OTLP/HTTP to otel-gateway.observability.svc.cluster.local:4318 over mutual TLS.
# Written by `otel-pki config sdk-env --language rust --shell`. Use: eval "$(otel-pki config sdk-env --language rust --shell)"
# For opentelemetry-otlp 0.32.0 (opentelemetry-rust).
# Checked against: open-telemetry/opentelemetry-rust opentelemetry-otlp/src at 0.32.0: no certificate variable is read (opentelemetry-rust#774 open).
# opentelemetry-otlp 0.32.0 reads none of OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY: set TLS up in code, as below.
# The SDK reads these files once, at start (no OpenTelemetry SDK reloads them: opentelemetry-specification#4247): restart the application after `otel-pki renew` or `ca rotate`.
export OTEL_EXPORTER_OTLP_ENDPOINT=https://otel-gateway.observability.svc.cluster.local:4318
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
# OTLP/HTTP (feature reqwest-client, or reqwest-blocking-client):
#   let pem = [std::fs::read("/etc/otel/certs/client.crt")?, std::fs::read("/etc/otel/certs/client.key")?].concat();
#   let client = reqwest::Client::builder()
#       .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read("/etc/otel/certs/ca.crt")?)?)
#       .identity(reqwest::Identity::from_pem(&pem)?).build()?;
#   let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().with_http_client(client).build()?;
