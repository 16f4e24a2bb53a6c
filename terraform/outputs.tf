# What the app team and the deploy pipeline need. No output carries a secret value.

output "api_base_url" {
  description = "Base URL the app calls (point api_domain's DNS A record at load_balancer_ip)."
  value       = "https://${var.api_domain}"
}

output "load_balancer_ip" {
  description = "IPv4 address of the HTTPS load balancer, for the api_domain DNS A record."
  value       = google_compute_global_address.api.address
}

output "api_routes" {
  description = "Every HTTP route in the manifest (\"METHOD /path\") with its public URL and function."
  value = {
    for r in local.http_routes : "${r.method} ${r.path}" => {
      url      = "https://${var.api_domain}${r.path}"
      function = r.function
      auth     = r.auth
    }
  }
}

output "function_urls" {
  description = "Each function's own URL (run.app). HTTP functions answer here only through the load balancer (ingress internal + load balancing); scheduled and pubsub functions only to their scheduler or push identity."
  value       = { for n, f in google_cloudfunctions2_function.function : n => f.service_config[0].uri }
}

output "function_service_accounts" {
  description = "Runtime service account of each function."
  value       = local.function_sa_emails
}

output "function_database_users" {
  description = "Cloud SQL IAM user of each function that uses the database (what infra/grants.py grants to)."
  value       = { for n, u in google_sql_user.function : n => u.name }
}

output "sql_instance_connection_name" {
  description = "CLOUD_SQL_INSTANCE for migrations and grants (PROJECT:REGION:INSTANCE)."
  value       = google_sql_database_instance.main.connection_name
}

output "sql_public_ip" {
  description = "Public IP of the instance, reachable only from admin_allowed_cidrs, TLS only."
  value       = google_sql_database_instance.main.public_ip_address
}

output "sql_encryption_at_rest" {
  description = "How the database is encrypted at rest (privacy policy section 6)."
  value       = var.kms_key_name == null ? "Google-managed AES-256" : "AES-256 with customer-managed key ${var.kms_key_name}"
}

output "sql_ssl_mode" {
  description = "Transport encryption the instance enforces (privacy policy section 6)."
  value       = google_sql_database_instance.main.settings[0].ip_configuration[0].ssl_mode
}

output "migrator_service_account" {
  description = "Service account the deploy pipeline impersonates to run migrations and grants (DB_USER is its e-mail without .gserviceaccount.com)."
  value       = google_service_account.migrator.email
}

output "topics" {
  description = "Pub/Sub topics created from the manifest."
  value       = sort([for t in google_pubsub_topic.topic : t.name])
}

output "dead_letter_inspect_subscriptions" {
  description = "Pull subscriptions where dead-lettered messages wait for inspection and replay, by dead-letter topic."
  value       = { for t, s in google_pubsub_subscription.dead_letter_inspect : t => s.name }
}

output "secret_ids" {
  description = "Secret Manager secret ids by setting; add values with gcloud secrets versions add (never through Terraform)."
  value       = { for env, s in google_secret_manager_secret.setting : env => s.secret_id }
}

output "scheduler_jobs" {
  description = "Cloud Scheduler job of each scheduled function, with its schedule and time zone."
  value = {
    for n, j in google_cloud_scheduler_job.job : n => {
      schedule  = j.schedule
      time_zone = j.time_zone
      uri       = j.http_target[0].uri
    }
  }
}
