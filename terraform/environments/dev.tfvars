# Development. Example values: a separate project, smaller database, no human database
# access by default. No secret belongs in this file (README, "Secrets").

project_id  = "lederappen-dev"
environment = "dev"
region      = "europe-north1"

api_domain = "api.dev.lederappen.no"

oidc_issuer     = "https://login-test.lederne.no"
oidc_audience   = "lederappen-dev"
lederne_api_url = "https://api-test.lederne.no/medlem/v1"

staff_allowed_cidrs = ["203.0.113.0/28"]

sql_tier                  = "db-custom-1-3840"
sql_availability_type     = "ZONAL"
sql_backup_retained_count = 7

# No direct human access to the dev database unless these are set.
admin_allowed_cidrs = []
db_admin_group      = null

deployer_members       = ["serviceAccount:deploy@lederappen-dev.iam.gserviceaccount.com"]
dead_letter_inspectors = ["group:lederappen-dev@lederne.no"]
alert_emails           = ["drift@lederne.no"]

rate_limit_requests_per_minute = 1200
log_level                      = "DEBUG"
