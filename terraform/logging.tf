# Cloud Logging is a store of member data too (the data map's `cloud-logging`): a log line
# holds a member only as a pseudonym (core/log.py), never a member number or a profile field.
# Every function logs to the project's _Default bucket, which keeps entries
# var.log_retention_days days; after that an erased member's pseudonym has left the logs.
# tests/unit/test_datamap_outside.py checks that the data map states this retention.
resource "google_logging_project_bucket_config" "default" {
  project        = var.project_id
  location       = "global"
  bucket_id      = "_Default"
  retention_days = var.log_retention_days
  description    = "Function logs: member identifiers only as pseudonyms; kept ${var.log_retention_days} days."

  depends_on = [google_project_service.enabled]
}
