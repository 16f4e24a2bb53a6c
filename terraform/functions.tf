# One Cloud Function (2nd gen, Python) per manifest entry, all from the same source archive,
# each with its own entry point, service account, environment, limits and ingress.
#
#   kind       ingress                   invoked by
#   http       ALLOW_INTERNAL_AND_GCLB   the HTTPS load balancer only (loadbalancer.tf); the
#                                        app's bearer token is verified in code
#   scheduled  ALLOW_INTERNAL_ONLY       its Cloud Scheduler job, OIDC token (scheduler.tf)
#   pubsub     ALLOW_INTERNAL_ONLY       its push subscription, OIDC token (pubsub.tf)

locals {
  # Each function's URL in the deterministic Cloud Run form. Known before the function exists,
  # so a function can be told its own URL (JOB_OIDC_AUDIENCE) without a dependency cycle, and
  # the scheduler and push subscriptions use the same string as target and token audience.
  function_urls = {
    for n in keys(local.functions) : n => "https://${n}-${data.google_project.this.number}.${var.region}.run.app"
  }

  # Values Terraform knows for the plain (non-secret) settings of lederappen.core.config,
  # by environment variable. A function gets only those whose section it uses (or "common");
  # secret settings never appear here, they come from Secret Manager (secrets.tf).
  env_values = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    LOG_LEVEL            = var.log_level
    CLOUD_SQL_INSTANCE   = google_sql_database_instance.main.connection_name
    DB_IP_TYPE           = "PRIVATE"
    DB_NAME              = google_sql_database.main.name
    OIDC_ISSUER          = var.oidc_issuer
    OIDC_AUDIENCE        = var.oidc_audience
    OIDC_JWKS_URL        = var.oidc_jwks_url
    LEDERNE_API_URL      = var.lederne_api_url
    FIRESTORE_DATABASE   = google_firestore_database.main.name
    # The staff console (sign-in with the staff IdP; CONSOLE_SESSION_KEY is a secret).
    CONSOLE_OIDC_ISSUER    = coalesce(var.staff_oidc_issuer, var.oidc_issuer)
    CONSOLE_OIDC_CLIENT_ID = var.staff_console_client_id
    CONSOLE_BASE_URL       = "https://${var.api_domain}"
  }
  env_values_per_function = {
    for n, f in local.functions : n => {
      # The Cloud SQL IAM user of a service account: its e-mail without .gserviceaccount.com.
      DB_USER           = trimsuffix(google_service_account.function[n].email, ".gserviceaccount.com")
      JOB_OIDC_AUDIENCE = local.function_urls[n]
      JOB_INVOKER_EMAILS = (
        f.kind == "scheduled" ? lookup(local.scheduler_sa_emails, n, null)
        : f.kind == "pubsub" ? lookup(local.push_sa_emails, n, null)
        : null
      )
    }
  }
  function_env = {
    for n, f in local.functions : n => {
      for k, v in merge(local.env_values, local.env_values_per_function[n]) :
      k => tostring(v) if v != null && contains(local.function_plain_env_names[n], k)
    }
  }
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions

  name        = each.key
  location    = var.region
  description = each.value.description
  labels = {
    function = each.key
    kind     = each.value.kind
  }

  build_config {
    runtime           = each.value.runtime
    entry_point       = each.value.entry_point
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function[each.key].email
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    timeout_seconds                  = each.value.timeout_seconds
    min_instance_count               = each.value.min_instances
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = each.value.concurrency
    all_traffic_on_latest_revision   = true
    ingress_settings                 = each.value.kind == "http" ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_INTERNAL_ONLY"

    environment_variables = local.function_env[each.key]

    # Secret settings of the function's sections, read from Secret Manager at start.
    dynamic "secret_environment_variables" {
      for_each = toset(local.function_secret_envs[each.key])
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = google_secret_manager_secret.setting[secret_environment_variables.key].secret_id
        version    = "latest"
      }
    }

    # Functions that use the database reach its private IP through the VPC (Direct VPC
    # egress, private ranges only); everything else leaves through Google's network.
    direct_vpc_egress = contains(each.value.uses, "db") ? "VPC_EGRESS_PRIVATE_RANGES_ONLY" : null
    dynamic "direct_vpc_network_interface" {
      for_each = contains(each.value.uses, "db") ? [1] : []
      content {
        network    = google_compute_network.main.id
        subnetwork = google_compute_subnetwork.functions.id
      }
    }
  }

  # No event_trigger: pubsub functions are fed by an explicit push subscription with a
  # dead-letter policy (pubsub.tf), scheduled functions by Cloud Scheduler (scheduler.tf).

  lifecycle {
    precondition {
      condition     = each.value.concurrency == 1 || tonumber(each.value.cpu) >= 1
      error_message = "Function ${each.key}: concurrency above 1 needs cpu of at least 1 (Cloud Functions 2nd gen)."
    }
    precondition {
      condition     = each.value.kind != "scheduled" || each.value.job_path != ""
      error_message = "Scheduled function ${each.key} needs a route with auth \"job\" for Cloud Scheduler to call."
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.function,
    google_project_iam_member.sql,
    google_project_iam_member.build_logs,
    google_project_iam_member.build_reads_source,
    google_artifact_registry_repository_iam_member.build_writes_images,
  ]
}

# HTTP functions serve the app through the load balancer: the app's token is Lederne's OIDC
# token, not a Google identity, so Cloud Run's IAM check cannot verify it; the function does
# (lederappen.core.auth) on every member and staff route. Ingress ALLOW_INTERNAL_AND_GCLB keeps
# the run.app URL closed to the internet, so this is reachable only through Cloud Armor.
resource "google_cloud_run_v2_service_iam_member" "http_public" {
  for_each = local.http_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
