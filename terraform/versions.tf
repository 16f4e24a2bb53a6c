# Terraform and provider versions. `~>` allows patch and minor updates within the major
# version; the lock file (.terraform.lock.hcl, created by `terraform init`) pins exact builds.
terraform {
  required_version = ">= 1.6"

  required_providers {
    # 7.21 is the first release with Direct VPC egress on google_cloudfunctions2_function
    # (service_config.direct_vpc_network_interface / direct_vpc_egress).
    google = {
      source  = "hashicorp/google"
      version = "~> 7.21"
    }
    # google_project_service_identity (service agents for Pub/Sub and Cloud SQL) is beta only.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 7.21"
    }
    # Zips functions/ plus requirements.txt into the one deployable source archive.
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
  }
}
