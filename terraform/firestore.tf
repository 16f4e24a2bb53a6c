# Firestore (native mode) for the inbox's direct messages (F9), in Europe, with
# point-in-time recovery and delete protection, and the indexes the queries need.

resource "google_firestore_database" "main" {
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  concurrency_mode                  = "PESSIMISTIC"
  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  # Removing it from Terraform never deletes the data.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.enabled]
}

locals {
  firestore_indexes = {
    for i in var.firestore_indexes :
    "${i.collection}/${i.query_scope}/${join(",", [for f in i.fields : "${f.field_path}:${f.order}"])}" => i
  }
}

# Two or more fields: a composite index.
resource "google_firestore_index" "index" {
  for_each = { for k, i in local.firestore_indexes : k => i if length(i.fields) > 1 }

  database    = google_firestore_database.main.name
  collection  = each.value.collection
  query_scope = each.value.query_scope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}

# One field: Firestore refuses single-field composite indexes; the field's own index
# settings are declared instead (kept explicitly, so the query keeps working if automatic
# indexing is ever narrowed).
resource "google_firestore_field" "index" {
  for_each = { for k, i in local.firestore_indexes : k => i if length(i.fields) == 1 }

  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.fields[0].field_path

  index_config {
    indexes {
      order       = each.value.fields[0].order
      query_scope = each.value.query_scope
    }
  }
}

# Retention, first line: every collection that holds member data carries `expires_at` (set by
# the writer from the data map's retention), and a TTL policy on that field lets Firestore
# delete expired documents itself (typically within a day of expiry, sometimes later). The
# nightly `retention` function sweeps the same collections by date as well.
resource "google_firestore_field" "ttl" {
  for_each = toset(var.firestore_ttl_collections)

  database   = google_firestore_database.main.name
  collection = each.value
  field      = "expires_at"

  ttl_config {}

  # A TTL field needs no index of its own.
  index_config {}
}
