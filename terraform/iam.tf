# Identities and least privilege (issue #9, item 6; privacy policy section 6: "only people who
# need it"). Every function runs as its own service account, which gets only the roles its
# manifest entry needs, granted on the one topic, secret or instance where the API allows it.
# No service account here is granted roles/editor, roles/owner or any other basic role.
#
#   what                            role                               granted on
#   function uses "db"              cloudsql.client + instanceUser     the instance (IAM condition)
#   function uses "firestore"       datastore.user                     the database (IAM condition)
#   function uses "fcm"             custom fcmSender (1 permission)    project (FCM has no resource)
#   secret setting of its sections  secretmanager.secretAccessor       that secret (secrets.tf)
#   each topic in "publishes"       pubsub.publisher                   that topic (pubsub.tf)
#   each subscription in "pulls"    pubsub.subscriber                  that -inspect subscription (pubsub.tf)
#   scheduled function's job        run.invoker                        that function (scheduler.tf)
#   pubsub function's push          run.invoker                        that function (pubsub.tf)

resource "google_service_account" "function" {
  for_each = local.functions

  account_id   = local.account_ids.function[each.key]
  display_name = "Function ${each.key}"
  description  = "Runtime identity of the ${each.key} Cloud Function (${each.value.kind}). Managed by Terraform from functions/manifest.json."
}

# Cloud Scheduler signs its OIDC token as this account; it may invoke only its own function.
resource "google_service_account" "scheduler" {
  for_each = local.scheduled_functions

  account_id   = local.account_ids.scheduler[each.key]
  display_name = "Scheduler for ${each.key}"
  description  = "Cloud Scheduler job identity; run.invoker on ${each.key} only."
}

# Pub/Sub signs the push request's OIDC token as this account; it may invoke only its function.
resource "google_service_account" "push" {
  for_each = local.pubsub_functions

  account_id   = local.account_ids.push[each.key]
  display_name = "Pub/Sub push to ${each.key}"
  description  = "Push subscription identity; run.invoker on ${each.key} only."
}

# Builds the function images (Cloud Build), instead of the broad default compute account.
resource "google_service_account" "build" {
  account_id   = "functions-build"
  display_name = "Cloud Functions build"
  description  = "Builds function images: reads the source bucket, writes the artifact repository, writes build logs."
}

# Owns the schema: runs infra/migrate.py and infra/grants.py during a deploy.
resource "google_service_account" "migrator" {
  account_id   = "db-migrator"
  display_name = "Database migrator"
  description  = "Runs schema migrations and per-function GRANTs (python -m infra.migrate, python -m infra.grants)."
}

locals {
  function_sa_emails  = { for k, sa in google_service_account.function : k => sa.email }
  scheduler_sa_emails = { for k, sa in google_service_account.scheduler : k => sa.email }
  push_sa_emails      = { for k, sa in google_service_account.push : k => sa.email }

  # IAM conditions that narrow a project-level grant to one resource.
  sql_instance_condition = {
    title       = "only-${google_sql_database_instance.main.name}"
    description = "Only the lederappen Cloud SQL instance."
    expression  = "resource.type == \"sqladmin.googleapis.com/Instance\" && resource.name == \"projects/${var.project_id}/instances/${google_sql_database_instance.main.name}\""
  }

  # Database identities: each db function, plus the migrator. Cloud SQL IAM has no
  # instance-level policy, so these are project grants conditioned on the one instance.
  sql_principals = merge(
    { for k, e in local.function_sa_emails : "function/${k}" => "serviceAccount:${e}" if contains(keys(local.db_functions), k) },
    { migrator = "serviceAccount:${google_service_account.migrator.email}" },
  )
  sql_grants = {
    for g in setproduct(keys(local.sql_principals), ["roles/cloudsql.client", "roles/cloudsql.instanceUser"]) :
    "${g[0]}/${g[1]}" => { member = local.sql_principals[g[0]], role = g[1] }
  }
}

resource "google_project_iam_member" "sql" {
  for_each = local.sql_grants

  project = var.project_id
  role    = each.value.role
  member  = each.value.member

  condition {
    title       = local.sql_instance_condition.title
    description = local.sql_instance_condition.description
    expression  = local.sql_instance_condition.expression
  }
}

# Firestore data access, narrowed to the one database.
resource "google_project_iam_member" "firestore" {
  for_each = local.firestore_functions

  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.function[each.key].email}"

  condition {
    title       = "only-firestore-${google_firestore_database.main.name}"
    description = "Only the lederappen Firestore database."
    expression  = "resource.name.startsWith(\"projects/${var.project_id}/databases/${google_firestore_database.main.name}\")"
  }
}

# Sending through FCM HTTP v1 needs exactly one permission; FCM has no resource-level IAM,
# so this narrow custom role is granted on the project to the fcm functions only.
resource "google_project_iam_custom_role" "fcm_sender" {
  role_id     = "lederappenFcmSender"
  title       = "Lederappen FCM sender"
  description = "Send push notifications through FCM HTTP v1, nothing else."
  permissions = ["cloudmessaging.messages.create"]
}

resource "google_project_iam_member" "fcm_sender" {
  for_each = local.fcm_functions

  project = var.project_id
  role    = google_project_iam_custom_role.fcm_sender.id
  member  = "serviceAccount:${google_service_account.function[each.key].email}"
}

# The deploy pipeline runs migrations and grants as db-migrator (impersonation), never with
# its own identity, so the database sees one schema owner.
resource "google_service_account_iam_member" "deployer_impersonates_migrator" {
  for_each = toset(var.deployer_members)

  service_account_id = google_service_account.migrator.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = each.key
}

# Build identity: logs (project-level only), the source bucket and the artifact repository.
resource "google_project_iam_member" "build_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.build.email}"
}

# Reads the source archive: our bucket, and the staging bucket Cloud Functions copies it to
# (created by the service on first deploy, so it is named in a condition, not granted on).
resource "google_project_iam_member" "build_reads_source" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = "serviceAccount:${google_service_account.build.email}"

  condition {
    title       = "only-function-source-buckets"
    description = "Only the function source bucket and the Cloud Functions staging bucket."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.source.name}\") || resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-${var.region}\")"
  }
}

resource "google_artifact_registry_repository_iam_member" "build_writes_images" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

# Audit trail (S2): Data Access logs for the services that hold or guard personal data.
resource "google_project_iam_audit_config" "data_access" {
  for_each = toset([
    "cloudsql.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])

  project = var.project_id
  service = each.key

  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}
