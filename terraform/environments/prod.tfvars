# Production. Example values: replace the project, domain, networks, group and addresses
# with the real ones before the first apply. No secret belongs in this file; secrets are
# added to Secret Manager with `gcloud secrets versions add` (README).

project_id  = "lederappen-prod"
environment = "prod"
region      = "europe-north1"

api_domain = "api.lederappen.no"

oidc_issuer     = "https://login.lederne.no"
oidc_audience   = "lederappen"
lederne_api_url = "https://api.lederne.no/medlem/v1"

# Lederne's office network (documentation range as a placeholder).
staff_allowed_cidrs = ["203.0.113.0/28"]

# Database: high availability, 30 daily backups, 7 days of point-in-time recovery.
sql_tier                  = "db-custom-2-7680"
sql_availability_type     = "REGIONAL"
sql_backup_retained_count = 30

# People who may log in to the database, only from these addresses, only with 2SV.
admin_allowed_cidrs         = ["203.0.113.0/28"]
db_admin_group              = "lederappen-db-admins@lederne.no"
db_admin_group_2sv_enforced = true

deployer_members       = ["serviceAccount:deploy@lederappen-prod.iam.gserviceaccount.com"]
dead_letter_inspectors = ["group:lederappen-ops@lederne.no"]
alert_emails           = ["drift@lederne.no"]

rate_limit_requests_per_minute = 600
log_level                      = "INFO"

labels = {
  cost-center = "lederappen"
}
