# Inputs. Examples: environments/dev.tfvars and environments/prod.tfvars. No variable carries
# a secret: secret values go into Secret Manager with `gcloud secrets versions add` (README).

# --- Project and placement -------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project id that holds this environment (one project per environment)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "environment" {
  description = "Environment name, used in resource names and labels."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be \"dev\" or \"prod\"."
  }
}

variable "region" {
  description = "Region for functions, Cloud SQL, Pub/Sub message storage, secrets and buckets. Default europe-north1 (Hamina, Finland), the region closest to Norway."
  type        = string
  default     = "europe-north1"

  validation {
    condition     = startswith(var.region, "europe-")
    error_message = "region must be a European region (europe-*): member data stays in the EU/EEA."
  }
}

variable "scheduler_region" {
  description = "Region of the Cloud Scheduler jobs (they hold only a schedule and a URL, no member data). Must be a region where Cloud Scheduler is offered."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = startswith(var.scheduler_region, "europe-")
    error_message = "scheduler_region must be a European region (europe-*)."
  }
}

variable "labels" {
  description = "Extra labels on every resource that takes labels (for example cost-center)."
  type        = map(string)
  default     = {}
}

# --- Public API (HTTPS load balancer) ---------------------------------------------------------

variable "api_domain" {
  description = "Host name the app calls (for example api.lederappen.no). A Google-managed certificate is issued for it; point its DNS A record at the load_balancer_ip output."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.api_domain))
    error_message = "api_domain must be a lowercase DNS host name."
  }
}

variable "default_http_function" {
  description = "HTTP function that receives requests matching no route (its router answers 404 problem+json)."
  type        = string
  default     = "meta"
}

variable "staff_allowed_cidrs" {
  description = "Networks (CIDR) from which staff routes (auth staff:<role>) are reachable through the load balancer. Empty: staff routes are refused at the edge."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for c in var.staff_allowed_cidrs : try(cidrhost(c, 0) != "" && tonumber(split("/", c)[1]) >= 8, false)
    ])
    error_message = "staff_allowed_cidrs must be CIDR ranges no wider than /8 (never 0.0.0.0/0)."
  }
}

variable "rate_limit_requests_per_minute" {
  description = "Requests per minute one client IP may make through the load balancer before Cloud Armor answers 429."
  type        = number
  default     = 600

  validation {
    condition     = var.rate_limit_requests_per_minute >= 10 && var.rate_limit_requests_per_minute <= 100000
    error_message = "rate_limit_requests_per_minute must be between 10 and 100000."
  }
}

variable "lb_log_sample_rate" {
  description = "Share of load balancer requests logged (0.0-1.0). Logs hold path and client IP, never bodies or tokens."
  type        = number
  default     = 1.0

  validation {
    condition     = var.lb_log_sample_rate >= 0 && var.lb_log_sample_rate <= 1
    error_message = "lb_log_sample_rate must be between 0 and 1."
  }
}

# --- Application configuration (non-secret; see lederappen.core.config) ----------------------

variable "oidc_issuer" {
  description = "OIDC_ISSUER: issuer of the app's ID tokens (Lederne's login), exact 'iss'."
  type        = string

  validation {
    condition     = startswith(var.oidc_issuer, "https://")
    error_message = "oidc_issuer must be an https URL."
  }
}

variable "oidc_audience" {
  description = "OIDC_AUDIENCE: the app's OIDC client id (required 'aud' of member tokens)."
  type        = string

  validation {
    condition     = length(trimspace(var.oidc_audience)) > 0
    error_message = "oidc_audience must not be empty."
  }
}

variable "staff_oidc_issuer" {
  description = "CONSOLE_OIDC_ISSUER: issuer of the staff identity provider the console signs staff in with; null: the same issuer as the app (oidc_issuer)."
  type        = string
  default     = null

  validation {
    condition     = var.staff_oidc_issuer == null || startswith(coalesce(var.staff_oidc_issuer, "https://"), "https://")
    error_message = "staff_oidc_issuer must be an https URL."
  }
}

variable "staff_console_client_id" {
  description = "CONSOLE_OIDC_CLIENT_ID: the staff console's client id at the staff identity provider (registered with the redirect URI https://<api_domain>/staff/callback)."
  type        = string
  default     = "lederappen-staff-console"

  validation {
    condition     = length(trimspace(var.staff_console_client_id)) > 0
    error_message = "staff_console_client_id must not be empty."
  }
}

variable "oidc_jwks_url" {
  description = "OIDC_JWKS_URL: JWKS URL of the issuer; null reads it from the issuer's discovery document."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_jwks_url == null || startswith(coalesce(var.oidc_jwks_url, "https://"), "https://")
    error_message = "oidc_jwks_url must be an https URL or null."
  }
}

variable "lederne_api_url" {
  description = "LEDERNE_API_URL: base URL of Lederne's member register API. Its credential, LEDERNE_API_KEY, is a secret (Secret Manager)."
  type        = string

  validation {
    condition     = startswith(var.lederne_api_url, "https://")
    error_message = "lederne_api_url must be an https URL."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of every function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Days Cloud Logging keeps the functions' logs (the _Default bucket); the data map's cloud-logging store states the same."
  type        = number
  default     = 30

  validation {
    condition     = var.log_retention_days >= 1 && var.log_retention_days <= 30
    error_message = "log_retention_days must be between 1 and 30 (logs hold member pseudonyms)."
  }
}

# --- Cloud SQL for PostgreSQL ------------------------------------------------------------------

variable "sql_instance_name" {
  description = "Cloud SQL instance name; null gives lederappen-<environment>. Names cannot be reused for a week after deletion."
  type        = string
  default     = null

  validation {
    condition     = var.sql_instance_name == null || can(regex("^[a-z][a-z0-9-]{0,96}[a-z0-9]$", coalesce(var.sql_instance_name, "x0")))
    error_message = "sql_instance_name must be lowercase letters, digits and hyphens."
  }
}

variable "sql_database_version" {
  description = "PostgreSQL major version of the instance."
  type        = string
  default     = "POSTGRES_15"

  validation {
    condition     = contains(["POSTGRES_15", "POSTGRES_16", "POSTGRES_17", "POSTGRES_18"], var.sql_database_version)
    error_message = "sql_database_version must be POSTGRES_15, POSTGRES_16, POSTGRES_17 or POSTGRES_18."
  }
}

variable "sql_tier" {
  description = "Machine tier of the instance (for example db-custom-1-3840 for 1 vCPU, 3.75 GB)."
  type        = string
  default     = "db-custom-1-3840"
}

variable "sql_availability_type" {
  description = "REGIONAL (high availability, standby in a second zone) or ZONAL."
  type        = string
  default     = "REGIONAL"

  validation {
    condition     = contains(["REGIONAL", "ZONAL"], var.sql_availability_type)
    error_message = "sql_availability_type must be REGIONAL or ZONAL."
  }
}

variable "sql_disk_size_gb" {
  description = "Initial SSD size in GB (grows automatically)."
  type        = number
  default     = 20

  validation {
    condition     = var.sql_disk_size_gb >= 10
    error_message = "sql_disk_size_gb must be at least 10."
  }
}

variable "sql_backup_location" {
  description = "Where automated backups are stored: a European multi-region (eu) or region."
  type        = string
  default     = "eu"

  validation {
    condition     = var.sql_backup_location == "eu" || startswith(var.sql_backup_location, "europe-")
    error_message = "sql_backup_location must be \"eu\" or a europe-* region."
  }
}

variable "sql_backup_retained_count" {
  description = "Number of daily automated backups kept."
  type        = number
  default     = 30

  validation {
    condition     = var.sql_backup_retained_count >= 7 && var.sql_backup_retained_count <= 365
    error_message = "sql_backup_retained_count must be between 7 and 365."
  }
}

variable "sql_pitr_log_retention_days" {
  description = "Days of write-ahead log kept for point-in-time recovery."
  type        = number
  default     = 7

  validation {
    condition     = var.sql_pitr_log_retention_days >= 1 && var.sql_pitr_log_retention_days <= 7
    error_message = "sql_pitr_log_retention_days must be between 1 and 7."
  }
}

variable "db_name" {
  description = "DB_NAME: the application database."
  type        = string
  default     = "lederappen"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must be a lowercase PostgreSQL identifier."
  }
}

variable "admin_allowed_cidrs" {
  description = "Allow-listed networks (CIDR) from which people may connect to the database's public IP (privacy policy section 6: login from a whitelisted IP address). Empty: no direct human access."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for c in var.admin_allowed_cidrs : try(cidrhost(c, 0) != "" && tonumber(split("/", c)[1]) >= 16, false)
    ])
    error_message = "admin_allowed_cidrs must be CIDR ranges no wider than /16 (never 0.0.0.0/0)."
  }
}

variable "db_admin_group" {
  description = "Google group (e-mail) whose members may sign in to the database with their own Google identity (IAM database authentication). null: nobody."
  type        = string
  default     = null

  validation {
    condition     = var.db_admin_group == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$", coalesce(var.db_admin_group, "a@b.cc")))
    error_message = "db_admin_group must be a group e-mail address or null."
  }
}

variable "db_admin_group_2sv_enforced" {
  description = "Set to true only after 2-Step Verification is enforced (Google Workspace admin console) for every member of db_admin_group. Terraform refuses to grant database access to the group until then."
  type        = bool
  default     = false
}

variable "deployer_members" {
  description = "IAM principals (serviceAccount:/user:/group:) of the deploy pipeline, allowed to impersonate the db-migrator service account that runs migrations and grants."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.deployer_members : can(regex("^(serviceAccount|user|group):", m))])
    error_message = "deployer_members entries must start with serviceAccount:, user: or group:."
  }
}

variable "kms_key_name" {
  description = "Optional customer-managed key (projects/P/locations/L/keyRings/R/cryptoKeys/K, in the same region) for Cloud SQL and Pub/Sub topics. null: Google-managed AES-256 encryption at rest, as the privacy policy states."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", coalesce(var.kms_key_name, "x")))
    error_message = "kms_key_name must be a full Cloud KMS crypto key name or null."
  }
}

# --- Network -----------------------------------------------------------------------------------

variable "functions_subnet_cidr" {
  description = "Subnet the functions use for Direct VPC egress to the database's private IP (/26 or larger)."
  type        = string
  default     = "10.10.0.0/24"

  validation {
    condition     = try(cidrhost(var.functions_subnet_cidr, 0) != "" && tonumber(split("/", var.functions_subnet_cidr)[1]) <= 26, false)
    error_message = "functions_subnet_cidr must be a CIDR range of /26 or larger."
  }
}

variable "private_services_prefix_length" {
  description = "Prefix length of the range reserved for private services access (Cloud SQL private IP)."
  type        = number
  default     = 20

  validation {
    condition     = var.private_services_prefix_length >= 16 && var.private_services_prefix_length <= 24
    error_message = "private_services_prefix_length must be between 16 and 24."
  }
}

# --- Pub/Sub -----------------------------------------------------------------------------------

variable "message_retention" {
  description = "How long a subscription keeps undelivered messages (seconds, with an s suffix)."
  type        = string
  default     = "604800s"

  validation {
    condition     = try(tonumber(trimsuffix(var.message_retention, "s")) >= 600 && tonumber(trimsuffix(var.message_retention, "s")) <= 604800 && endswith(var.message_retention, "s"), false)
    error_message = "message_retention must be between 600s and 604800s."
  }
}

variable "dead_letter_retention" {
  description = "How long the <dead-letter-topic>-inspect subscription keeps dead-lettered messages for staff to inspect and replay."
  type        = string
  default     = "604800s"

  validation {
    condition     = try(tonumber(trimsuffix(var.dead_letter_retention, "s")) >= 600 && tonumber(trimsuffix(var.dead_letter_retention, "s")) <= 2678400 && endswith(var.dead_letter_retention, "s"), false)
    error_message = "dead_letter_retention must be between 600s and 2678400s (31 days)."
  }
}

variable "retry_minimum_backoff" {
  description = "Shortest wait before Pub/Sub redelivers a message a function did not acknowledge."
  type        = string
  default     = "10s"

  validation {
    condition     = try(endswith(var.retry_minimum_backoff, "s") && tonumber(trimsuffix(var.retry_minimum_backoff, "s")) <= 600, false)
    error_message = "retry_minimum_backoff must be between 0s and 600s."
  }
}

variable "retry_maximum_backoff" {
  description = "Longest wait before Pub/Sub redelivers a message (exponential backoff up to this)."
  type        = string
  default     = "600s"

  validation {
    condition     = try(endswith(var.retry_maximum_backoff, "s") && tonumber(trimsuffix(var.retry_maximum_backoff, "s")) <= 600, false)
    error_message = "retry_maximum_backoff must be between 0s and 600s."
  }
}

variable "dead_letter_inspectors" {
  description = "IAM principals (group: recommended) allowed to pull dead-lettered messages from the -inspect subscriptions."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.dead_letter_inspectors : can(regex("^(serviceAccount|user|group):", m))])
    error_message = "dead_letter_inspectors entries must start with serviceAccount:, user: or group:."
  }
}

# --- Firestore ---------------------------------------------------------------------------------

variable "firestore_location" {
  description = "Firestore location: eur3 (multi-region Europe) or a europe-* region."
  type        = string
  default     = "eur3"

  validation {
    condition     = var.firestore_location == "eur3" || startswith(var.firestore_location, "europe-")
    error_message = "firestore_location must be eur3 or a europe-* region."
  }
}

variable "firestore_indexes" {
  description = "Indexes the queries need. One field: a single-field index setting (google_firestore_field); two or more: a composite index (google_firestore_index)."
  type = list(object({
    collection  = string
    query_scope = string
    fields = list(object({
      field_path = string
      order      = string
    }))
  }))
  default = [
    {
      # A member's inbox, newest first (F9: the in-app inbox).
      collection  = "inbox_items"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "member_id", order = "ASCENDING" },
        { field_path = "created_at", order = "DESCENDING" },
      ]
    },
    {
      # Editors' figures: how many items of a message have been read (a count aggregation).
      collection  = "inbox_items"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "message_id", order = "ASCENDING" },
        { field_path = "read_at", order = "ASCENDING" },
      ]
    },
  ]

  validation {
    condition = alltrue([
      for i in var.firestore_indexes :
      contains(["COLLECTION", "COLLECTION_GROUP"], i.query_scope) && length(i.fields) >= 1 &&
      alltrue([for f in i.fields : contains(["ASCENDING", "DESCENDING"], f.order)])
    ])
    error_message = "Each index needs query_scope COLLECTION or COLLECTION_GROUP and at least one field ordered ASCENDING or DESCENDING."
  }
}

variable "firestore_ttl_collections" {
  description = "Collections whose documents Firestore deletes itself once their expires_at has passed (the data map's retention)."
  type        = list(string)
  default     = ["inbox_items"]
}

# --- Operations --------------------------------------------------------------------------------

variable "alert_emails" {
  description = "E-mail addresses that receive alerts (function errors, dead letters, failed deletion jobs)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$", e))])
    error_message = "alert_emails must be e-mail addresses."
  }
}
