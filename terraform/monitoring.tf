# Operations: log-based metrics and alerts for function errors, dead-lettered messages and
# failed deletion jobs, sent to var.alert_emails.
#
#   signal                       source                                              alert
#   errors, per function         log-based metric fn-errors-<name> (severity>=ERROR)  > 0 in 5 min
#   dead-lettered messages       Pub/Sub metric dead_letter_message_count per push   > 0 in 5 min
#                                subscription, and undelivered messages waiting in
#                                each <dead-letter-topic>-inspect subscription
#   failed deletion jobs         log-based metric deletion-job-failed (the log line  > 0 in 5 min
#                                "deletion job failed", any function)
#
# Dead letters are counted with Pub/Sub's own metrics: Pub/Sub writes no log line when it
# forwards a message to a dead-letter topic, so a log-based metric would never see one.

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  display_name = "Lederappen ${var.environment} alerts: ${each.key}"
  type         = "email"
  labels = {
    email_address = each.key
  }

  depends_on = [google_project_service.enabled]
}

locals {
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]
}

resource "google_logging_metric" "function_errors" {
  for_each = local.functions

  name        = "fn-errors-${each.key}"
  description = "Log entries of severity ERROR or worse from the ${each.key} function."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${each.key}\" AND severity>=ERROR"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_monitoring_alert_policy" "function_errors" {
  for_each = local.functions

  display_name          = "${each.key}: errors (${var.environment})"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "ERROR"

  conditions {
    display_name = "${each.key} logged an error"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.function_errors[each.key].name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Function **${each.key}** logged at severity ERROR. Logs: `resource.type=\"cloud_run_revision\" resource.labels.service_name=\"${each.key}\" severity>=ERROR`. Member identifiers in logs are pseudonyms (PSEUDONYM_KEY)."
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  for_each = local.pubsub_functions

  display_name          = "${each.key}: messages dead-lettered (${var.environment})"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "ERROR"

  conditions {
    display_name = "${each.key}-push forwarded messages to ${each.value.dead_letter_topic}"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.push[each.key].name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_DELTA"
      }
      trigger {
        count = 1
      }
    }
  }

  conditions {
    display_name = "${each.value.dead_letter_topic}-inspect holds dead letters"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.dead_letter_inspect[each.value.dead_letter_topic].name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Messages for **${each.key}** failed ${each.value.max_delivery_attempts} deliveries and were moved to `${each.value.dead_letter_topic}`. Pull them from `${each.value.dead_letter_topic}-inspect`, fix the cause, and republish to `${each.value.topic}` (README, Dead letters)."
  }
}

resource "google_logging_metric" "deletion_job_failed" {
  name        = "deletion-job-failed"
  description = "The log line \"deletion job failed\" from any function (erasure R3/R5 or retention R7 did not complete)."
  filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.message=\"deletion job failed\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "function"
      value_type  = "STRING"
      description = "Function that logged the failure."
    }
  }

  label_extractors = {
    function = "EXTRACT(resource.labels.service_name)"
  }
}

resource "google_monitoring_alert_policy" "deletion_job_failed" {
  display_name          = "Deletion job failed (${var.environment})"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "CRITICAL"

  conditions {
    display_name = "A deletion job logged \"deletion job failed\""
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.deletion_job_failed.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A deletion job failed: a member's data may not have been erased on time (privacy policy sections 4 and 5). Find the run in the function's logs and re-run the job once the cause is fixed."
  }
}
