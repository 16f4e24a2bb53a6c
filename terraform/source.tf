# The one deployable source: functions/ with the top-level requirements.txt at the archive's
# root (Cloud Functions installs requirements.txt found next to main.py). Every function is
# built from this archive with its own entry point. The object name carries the archive's MD5,
# so any change to the code or the requirements uploads a new object and redeploys.

locals {
  source_dir = "${path.module}/../functions"
  # Text files only (file() reads UTF-8); caches and compiled files stay out.
  source_files = sort([
    for f in fileset(local.source_dir, "**") : f
    if !strcontains(f, "__pycache__") && !endswith(f, ".pyc") && !startswith(f, ".")
  ])
}

data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/.build/functions-source.zip"

  dynamic "source" {
    for_each = local.source_files
    content {
      filename = source.value
      content  = file("${local.source_dir}/${source.value}")
    }
  }

  source {
    filename = "requirements.txt"
    content  = file("${path.module}/../requirements.txt")
  }
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Access to this bucket is recorded by Cloud Audit Logs (DATA_READ/DATA_WRITE for storage.googleapis.com, iam.tf google_project_iam_audit_config.data_access), which replace the legacy usage-log bucket.
  name     = "${var.project_id}-functions-source"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Keep the last 5 superseded archives (rollback), drop older ones after 30 days.
  lifecycle_rule {
    condition {
      num_newer_versions = 5
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket_object" "source" {
  name   = "functions-source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

# Function images, in the functions' region, with old images cleaned up.
resource "google_artifact_registry_repository" "functions" {
  #checkov:skip=CKV_GCP_84:Images contain only code and public dependencies, no member data; Google-managed encryption (AES-256) at rest is the policy's standard.
  location      = var.region
  repository_id = "functions"
  description   = "Images built from the functions source archive."
  format        = "DOCKER"

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.enabled]
}
