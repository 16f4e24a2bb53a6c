provider "google" {
  project = var.project_id
  region  = var.region

  # Applied to every resource that takes labels (functions, buckets, topics, the instance...).
  default_labels = local.common_labels
}

provider "google-beta" {
  project = var.project_id
  region  = var.region

  default_labels = local.common_labels
}

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  common_labels = merge(var.labels, {
    app         = "lederappen"
    environment = var.environment
    managed-by  = "terraform"
  })
}
