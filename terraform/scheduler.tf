# Scheduled functions: a Cloud Scheduler job per function calls the function's job route on
# the manifest's schedule and time zone, with a Google-signed OIDC token whose audience is the
# function's URL. The token is signed as the job's own service account, the only principal
# allowed to invoke the function (no allUsers); the function checks the same audience and
# invoker in code (JOB_OIDC_AUDIENCE, JOB_INVOKER_EMAILS). Scheduled functions are not on the
# load balancer and accept internal traffic only.

resource "google_cloud_scheduler_job" "job" {
  for_each = local.scheduled_functions

  name             = each.key
  region           = var.scheduler_region
  description      = "Runs ${each.key}: ${each.value.description}"
  schedule         = each.value.schedule
  time_zone        = each.value.time_zone
  attempt_deadline = "${min(max(each.value.timeout_seconds, 15), 1800)}s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "600s"
    max_doublings        = 3
  }

  http_target {
    http_method = each.value.job_method
    uri         = "${local.function_urls[each.key]}${each.value.job_path}"
    headers = {
      "Content-Type" = "application/json"
    }
    body = contains(["POST", "PUT", "PATCH"], each.value.job_method) ? base64encode("{}") : null

    oidc_token {
      service_account_email = google_service_account.scheduler[each.key].email
      audience              = local.function_urls[each.key]
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.scheduler_invoker]
}

# The job's identity may invoke its own function and nothing else.
resource "google_cloud_run_v2_service_iam_member" "scheduler_invoker" {
  for_each = local.scheduled_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler[each.key].email}"
}
