# Remote state in a Cloud Storage bucket (versioned, uniform access, public access prevention
# enforced; created once by bootstrap/). Partial configuration: the bucket is given at init,
#
#   terraform init -backend-config=environments/prod.gcs.tfbackend
#
# so one configuration serves every environment, each with its own bucket. The state holds
# resource metadata only: no secret value is ever written by this configuration.
terraform {
  backend "gcs" {
    prefix = "lederappen/backend"
  }
}
