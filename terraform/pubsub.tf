# Pub/Sub: every topic the manifest names (a function's topic, its dead_letter_topic, the
# topics it publishes to), and for every pubsub function a push subscription to it with a
# retry policy and a dead-letter policy.
#
# Why a push subscription and not an Eventarc trigger (event_trigger on the function): the
# subscription Eventarc creates is managed by Eventarc and takes no dead-letter policy through
# the function resource, so a message that keeps failing would be retried until it expires
# instead of being parked. An explicit push subscription carries exactly what the manifest
# asks (dead_letter_topic, max_delivery_attempts, ack_deadline_seconds), plus retention and
# exponential backoff, and it delivers the same request (the Pub/Sub push envelope,
# {"message": {...}, "subscription": "..."}) that the local Pub/Sub emulator pushes, so the
# function sees one format everywhere (functions-framework turns it into a CloudEvent for a
# cloud_event entry point). The push is authenticated with an OIDC token signed
# as the function's own push service account, the only principal allowed to invoke it.
# Returning 2xx acknowledges; anything else (or a timeout) is redelivered with backoff and,
# after max_delivery_attempts, moved to the dead-letter topic. A <dead-letter-topic>-inspect
# pull subscription keeps those messages for staff to inspect and replay, and monitoring.tf
# alerts on them.

resource "google_pubsub_topic" "topic" {
  #checkov:skip=CKV_GCP_83:Messages are encrypted at rest with Google-managed AES-256 keys, the standard the privacy policy states (section 6); a customer-managed key is applied when var.kms_key_name is set.
  for_each = local.topics

  name         = each.key
  kms_key_name = var.kms_key_name

  # Messages are stored only in the functions' region.
  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }

  labels = {
    dead-letter = contains(local.dead_letter_topics, each.key) ? "true" : "false"
  }

  depends_on = [google_project_service.enabled, google_kms_crypto_key_iam_member.pubsub]
}

# Publishers: each topic, only the functions that list it in "publishes".
resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.publisher_grants

  project = var.project_id
  topic   = google_pubsub_topic.topic[each.value.topic].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.function[each.value.function].email}"
}

resource "google_pubsub_subscription" "push" {
  for_each = local.pubsub_functions

  name  = "${each.key}-push"
  topic = google_pubsub_topic.topic[each.value.topic].id

  ack_deadline_seconds       = each.value.ack_deadline_seconds
  message_retention_duration = var.message_retention
  retain_acked_messages      = false

  push_config {
    # The function's job route if it declares one; otherwise the topic's path, from which
    # functions-framework builds the CloudEvent (source //pubsub.googleapis.com/projects/P/
    # topics/T) that a cloud_event entry point receives, as from an Eventarc trigger.
    push_endpoint = (
      each.value.job_path != ""
      ? "${local.function_urls[each.key]}${each.value.job_path}"
      : "${local.function_urls[each.key]}/projects/${var.project_id}/topics/${each.value.topic}"
    )

    oidc_token {
      service_account_email = google_service_account.push[each.key].email
      audience              = local.function_urls[each.key]
    }
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.topic[each.value.dead_letter_topic].id
    max_delivery_attempts = each.value.max_delivery_attempts
  }

  # Never expire for inactivity.
  expiration_policy {
    ttl = ""
  }

  lifecycle {
    precondition {
      condition     = each.value.ack_deadline_seconds >= each.value.timeout_seconds
      error_message = "Function ${each.key}: ack_deadline_seconds (${each.value.ack_deadline_seconds}) must be at least timeout_seconds (${each.value.timeout_seconds}), or Pub/Sub redelivers messages still being handled."
    }
    precondition {
      condition     = each.value.max_delivery_attempts >= 5 && each.value.max_delivery_attempts <= 100
      error_message = "Function ${each.key}: max_delivery_attempts must be between 5 and 100 (Pub/Sub limit)."
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.push_invoker]
}

# The push identity may invoke its own function and nothing else.
resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  for_each = local.pubsub_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push[each.key].email}"
}

# The Pub/Sub service agent mints the push token as the push identity (needed in projects
# created before April 2021; harmless after), forwards undeliverable messages to the
# dead-letter topic, and acknowledges them on the source subscription.
resource "google_service_account_iam_member" "pubsub_agent_mints_push_token" {
  for_each = local.pubsub_functions

  service_account_id = google_service_account.push[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letters" {
  for_each = local.dead_letter_topics

  project = var.project_id
  topic   = google_pubsub_topic.topic[each.key].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_acks_source" {
  for_each = local.pubsub_functions

  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

# Where dead letters wait: staff pull them to see what failed, and replay them by publishing
# them again to the source topic once the cause is fixed (README, "Dead letters").
resource "google_pubsub_subscription" "dead_letter_inspect" {
  for_each = local.dead_letter_topics

  name  = "${each.key}-inspect"
  topic = google_pubsub_topic.topic[each.key].id

  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_retention
  retain_acked_messages      = true

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription_iam_member" "dead_letter_inspectors" {
  for_each = {
    for g in setproduct(tolist(local.dead_letter_topics), var.dead_letter_inspectors) :
    "${g[0]}/${g[1]}" => { topic = g[0], member = g[1] }
  }

  project      = var.project_id
  subscription = google_pubsub_subscription.dead_letter_inspect[each.value.topic].name
  role         = "roles/pubsub.subscriber"
  member       = each.value.member
}

# Functions that drain dead letters (manifest "pulls", e.g. the staff dead-letters API): they
# may pull and acknowledge on the -inspect subscriptions they list, nothing else.
resource "google_pubsub_subscription_iam_member" "function_pulls" {
  for_each = local.subscriber_grants

  project      = var.project_id
  subscription = google_pubsub_subscription.dead_letter_inspect[each.value.dead_letter_topic].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.function[each.value.function].email}"
}

# Optional CMEK for topics: the Pub/Sub service agent may use the key.
resource "google_kms_crypto_key_iam_member" "pubsub" {
  count = var.kms_key_name == null ? 0 : 1

  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${google_project_service_identity.pubsub.email}"
}
