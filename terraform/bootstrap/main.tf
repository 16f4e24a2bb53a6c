# One-time bootstrap of an environment: the bucket that holds the main configuration's
# Terraform state. Run once per project with local state (README, "First-time bootstrap"):
#
#   cd terraform/bootstrap
#   terraform init
#   terraform apply -var project_id=lederappen-prod -var state_bucket=lederappen-prod-tfstate
#
# The bucket is versioned (every state revision can be restored), has uniform bucket-level
# access and public access prevention enforced, and is never destroyed by Terraform.

terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.21"
    }
  }
}

variable "project_id" {
  description = "Project that will hold the environment (and its state bucket)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}

variable "region" {
  description = "Location of the state bucket (state holds resource metadata, no member data)."
  type        = string
  default     = "europe-north1"

  validation {
    condition     = startswith(var.region, "europe-")
    error_message = "region must be a European region (europe-*)."
  }
}

variable "state_bucket" {
  description = "Globally unique name of the state bucket; the same name goes into environments/<env>.gcs.tfbackend."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "state_bucket must be a valid Cloud Storage bucket name."
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

resource "google_storage_bucket" "state" {
  #checkov:skip=CKV_GCP_62:Access is recorded by Cloud Audit Logs (Data Access logs for storage.googleapis.com, enabled by the main configuration), which replace the legacy usage-log bucket.
  name     = var.state_bucket
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Keep the 20 most recent superseded state files.
  lifecycle_rule {
    condition {
      num_newer_versions = 20
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  labels = {
    app        = "lederappen"
    managed-by = "terraform"
    purpose    = "terraform-state"
  }

  lifecycle {
    prevent_destroy = true
  }
}

output "state_bucket" {
  description = "Put this in environments/<env>.gcs.tfbackend as bucket = \"...\"."
  value       = google_storage_bucket.state.name
}
