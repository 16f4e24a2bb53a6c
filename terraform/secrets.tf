# Secret Manager holds every secret setting (lederappen.core.config, secret=True) a deployed
# function can need.
# Terraform creates the secrets but never a value: values are added out of band with
#
#   printf '%s' "$VALUE" | gcloud secrets versions add pseudonym-key --data-file=-
#
# so no secret value is in a variable, a tfvars file, the state or an output. Each function's
# service account may read only the secrets of the sections it uses (secret_grants).

resource "google_secret_manager_secret" "setting" {
  for_each = local.secret_env_names

  secret_id = lower(replace(each.key, "_", "-"))
  labels = {
    setting = lower(each.key)
  }

  # Stored only in the functions' region (data residency), Google-managed AES-256 encryption.
  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_iam_member" "function" {
  for_each = local.secret_grants

  project   = var.project_id
  secret_id = google_secret_manager_secret.setting[each.value.env].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.value.function].email}"
}
