# Cloud SQL for PostgreSQL: where the app keeps salary data, preferences and mentor
# engagement. Each promise of the privacy policy, section 6 ("Lagring av data"), is kept by a
# named resource or attribute here:
#
#   promise (section 6)                           kept by
#   only people who need it reach the database    google_sql_user.db_admins (one Google group),
#                                                 google_project_iam_member.db_admins_login;
#                                                 functions get only their manifest grants
#                                                 (google_sql_user.function + infra/grants.py)
#   login from a whitelisted IP address           google_sql_database_instance.main
#                                                 ip_configuration.authorized_networks =
#                                                 var.admin_allowed_cidrs (nothing else)
#   username and password with 2FA                google_sql_user.db_admins: IAM database
#                                                 authentication (Google sign-in, no DB password)
#                                                 gated by terraform_data.db_admins_require_2sv
#   data encrypted with Google-managed AES-256    google_sql_database_instance.main
#                                                 encryption_key_name (null = Google-managed
#                                                 AES-256; label encryption-at-rest; output
#                                                 sql_encryption_at_rest)
#   all traffic in and out encrypted              ip_configuration.ssl_mode = ENCRYPTED_ONLY
#                                                 (no plaintext connection is accepted); the
#                                                 functions connect through the Cloud SQL
#                                                 connector (mutual TLS) over the private IP

locals {
  sql_instance_name = coalesce(var.sql_instance_name, "lederappen-${var.environment}")
  # At rest, Cloud SQL always encrypts with AES-256. Without a CMEK the key is Google-managed,
  # which is what the privacy policy promises; a CMEK is an optional stricter setting.
  sql_encryption_at_rest = var.kms_key_name == null ? "google-managed-aes-256" : "cmek-aes-256"
}

resource "google_sql_database_instance" "main" {
  #checkov:skip=CKV_GCP_6:ssl_mode is ENCRYPTED_ONLY, so every connection is TLS-encrypted. Client certificates are not also required because people must connect directly from an allow-listed IP (policy section 6); the certificate-based Cloud SQL connector would bypass authorized networks. Functions use the connector (mutual TLS) anyway.
  #checkov:skip=CKV_GCP_79:Pinned (var.sql_database_version) to the PostgreSQL major version the test suite runs against (15, the local stack), so production behaves as tested; upgrade both together.
  #checkov:skip=CKV_GCP_60:The privacy policy (section 6) requires people to log in from whitelisted IP addresses, which needs a public IP; only var.admin_allowed_cidrs are authorized, TLS is required (ssl_mode), and logins are IAM-authenticated. Functions use the private IP.
  name                = local.sql_instance_name
  region              = var.region
  database_version    = var.sql_database_version
  deletion_protection = true

  # null: Google-managed AES-256 encryption at rest (privacy policy section 6).
  encryption_key_name = var.kms_key_name

  settings {
    tier                        = var.sql_tier
    edition                     = "ENTERPRISE"
    availability_type           = var.sql_availability_type
    disk_type                   = "PD_SSD"
    disk_size                   = var.sql_disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = true

    user_labels = merge(local.common_labels, {
      encryption-at-rest    = local.sql_encryption_at_rest
      encryption-in-transit = "tls-required"
    })

    ip_configuration {
      # Private IP for the functions (Direct VPC egress), public IP for allow-listed people.
      private_network                               = google_compute_network.main.id
      enable_private_path_for_google_cloud_services = true
      ipv4_enabled                                  = true
      # Every connection must use TLS; plaintext is refused.
      ssl_mode = "ENCRYPTED_ONLY"

      # Whitelisted IP addresses (privacy policy section 6). Nothing else is authorized.
      dynamic "authorized_networks" {
        for_each = var.admin_allowed_cidrs
        content {
          name  = "admin-${authorized_networks.key}"
          value = authorized_networks.value
        }
      }
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "01:00"
      location                       = var.sql_backup_location
      transaction_log_retention_days = var.sql_pitr_log_retention_days

      backup_retention_settings {
        retained_backups = var.sql_backup_retained_count
        retention_unit   = "COUNT"
      }
    }

    insights_config {
      query_insights_enabled  = true
      query_plans_per_minute  = 5
      query_string_length     = 1024
      record_application_tags = true
      record_client_address   = false
    }

    maintenance_window {
      day          = 7
      hour         = 2
      update_track = "stable"
    }

    # PostgreSQL flags, written out so a reader (and checkov) sees each one: IAM database
    # authentication; logging of connections, disconnections, lock waits, checkpoints and DDL;
    # never statement text with data values in it (log_min_duration_statement = -1, pgAudit
    # without parameters).
    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_duration"
      value = "on"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_min_messages"
      value = "warning"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_error_verbosity"
      value = "default"
    }
    database_flags {
      name  = "log_executor_stats"
      value = "off"
    }
    database_flags {
      name  = "log_parser_stats"
      value = "off"
    }
    database_flags {
      name  = "log_planner_stats"
      value = "off"
    }
    database_flags {
      name  = "log_statement_stats"
      value = "off"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "pgaudit.log"
      value = "role,ddl"
    }
    database_flags {
      name  = "pgaudit.log_parameter"
      value = "off"
    }
  }

  depends_on = [
    google_service_networking_connection.private_services,
    google_kms_crypto_key_iam_member.sql,
  ]
}

resource "google_sql_database" "main" {
  name      = var.db_name
  instance  = google_sql_database_instance.main.name
  charset   = "UTF8"
  collation = "en_US.UTF8"
  # Terraform never drops the database with the member data in it.
  deletion_policy = "ABANDON"
}

# One IAM database user per function that uses the database: its service account, which
# signs in with a short-lived token (no password exists). What each may do in the database
# is granted by infra/grants.py from the manifest's db_privileges.
resource "google_sql_user" "function" {
  for_each = local.db_functions

  instance = google_sql_database_instance.main.name
  name     = trimsuffix(google_service_account.function[each.key].email, ".gserviceaccount.com")
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

resource "google_sql_user" "migrator" {
  instance = google_sql_database_instance.main.name
  name     = trimsuffix(google_service_account.migrator.email, ".gserviceaccount.com")
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

# 2-step verification. People sign in to the database with their own Google identity
# (IAM database authentication: the password is a one-hour token that only a full Google
# sign-in yields). Enforcing 2-Step Verification for that sign-in is a Google Workspace
# setting Terraform cannot change, so the group gets no access until an administrator has
# enforced it for the group's members and says so in db_admin_group_2sv_enforced.
resource "terraform_data" "db_admins_require_2sv" {
  count = var.db_admin_group == null ? 0 : 1

  input = {
    group                 = var.db_admin_group
    two_step_verification = var.db_admin_group_2sv_enforced
  }

  lifecycle {
    precondition {
      condition     = var.db_admin_group_2sv_enforced
      error_message = "Enforce 2-Step Verification for every member of ${coalesce(var.db_admin_group, "-")} in the Google Workspace admin console (Security > 2-Step Verification > Enforcement), then set db_admin_group_2sv_enforced = true. Privacy policy section 6 requires 2FA for database logins."
    }
  }
}

# The people who need the database: one Google group, signing in as themselves (group
# members inherit the group's database role). They may log in (instanceUser), but not use the
# Cloud SQL connector/Auth Proxy (no cloudsql.client), so their only path is a direct TLS
# connection from an allow-listed address.
resource "google_sql_user" "db_admins" {
  count = var.db_admin_group == null ? 0 : 1

  instance = google_sql_database_instance.main.name
  name     = var.db_admin_group
  type     = "CLOUD_IAM_GROUP"

  depends_on = [terraform_data.db_admins_require_2sv]
}

resource "google_project_iam_member" "db_admins_login" {
  count = var.db_admin_group == null ? 0 : 1

  project = var.project_id
  role    = "roles/cloudsql.instanceUser"
  member  = "group:${var.db_admin_group}"

  condition {
    title       = local.sql_instance_condition.title
    description = local.sql_instance_condition.description
    expression  = local.sql_instance_condition.expression
  }

  depends_on = [terraform_data.db_admins_require_2sv]
}

# Optional CMEK: the Cloud SQL service agent may use the key.
resource "google_kms_crypto_key_iam_member" "sql" {
  count = var.kms_key_name == null ? 0 : 1

  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${google_project_service_identity.sqladmin[0].email}"
}
