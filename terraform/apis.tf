# The Google APIs this backend uses. Enabling is idempotent; disable_on_destroy = false so a
# `terraform destroy` of one environment never switches an API off under something else.
# serviceusage and cloudresourcemanager must be enabled once by hand before the first apply
# (README, "First-time bootstrap").
locals {
  services = toset(concat(
    [
      "artifactregistry.googleapis.com",
      "cloudbuild.googleapis.com",
      "cloudfunctions.googleapis.com",
      "cloudscheduler.googleapis.com",
      "compute.googleapis.com",
      "fcm.googleapis.com",
      "firestore.googleapis.com",
      "iam.googleapis.com",
      "iamcredentials.googleapis.com",
      "logging.googleapis.com",
      "monitoring.googleapis.com",
      "pubsub.googleapis.com",
      "run.googleapis.com",
      "secretmanager.googleapis.com",
      "servicenetworking.googleapis.com",
      "sqladmin.googleapis.com",
      "storage.googleapis.com",
    ],
    var.kms_key_name == null ? [] : ["cloudkms.googleapis.com"],
  ))
}

resource "google_project_service" "enabled" {
  for_each = local.services

  project                    = var.project_id
  service                    = each.key
  disable_on_destroy         = false
  disable_dependent_services = false
}

# Service agents that must exist before IAM can name them.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.enabled]
}

resource "google_project_service_identity" "sqladmin" {
  provider = google-beta
  count    = var.kms_key_name == null ? 0 : 1

  project = var.project_id
  service = "sqladmin.googleapis.com"

  depends_on = [google_project_service.enabled]
}
