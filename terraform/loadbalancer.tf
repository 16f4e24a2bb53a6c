# The app's HTTPS entry: a global external Application Load Balancer on var.api_domain with a
# Google-managed certificate, TLS 1.2+ only, HTTP redirected to HTTPS, Cloud Armor in front,
# and one serverless backend per HTTP function. The URL map is derived from the manifest's
# routes, so a route cannot exist in code and be unreachable (or reach the wrong function).

resource "google_compute_global_address" "api" {
  name         = "api-${var.environment}"
  address_type = "EXTERNAL"
  ip_version   = "IPV4"

  depends_on = [google_project_service.enabled]
}

resource "google_compute_managed_ssl_certificate" "api" {
  name = "api-${var.environment}-${substr(sha256(var.api_domain), 0, 8)}"

  managed {
    domains = [var.api_domain]
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Encryption in transit at the edge: TLS 1.2 or newer with modern cipher suites.
resource "google_compute_ssl_policy" "api" {
  name            = "api-modern-tls"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_region_network_endpoint_group" "function" {
  for_each = local.http_functions

  name                  = "fn-${each.key}"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = google_cloudfunctions2_function.function[each.key].name
  }
}

resource "google_compute_backend_service" "function" {
  for_each = local.http_functions

  name                  = "fn-${each.key}"
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.api.id

  backend {
    group = google_compute_region_network_endpoint_group.function[each.key].id
  }

  log_config {
    enable      = true
    sample_rate = var.lb_log_sample_rate
  }
}

resource "google_compute_url_map" "api" {
  name            = "api-${var.environment}"
  default_service = google_compute_backend_service.function[local.lb_default_function].id

  host_rule {
    hosts        = [var.api_domain]
    path_matcher = "routes"
  }

  path_matcher {
    name            = "routes"
    default_service = google_compute_backend_service.function[local.lb_default_function].id

    # One rule per route path in the manifest: literal paths match exactly, templated paths
    # (/v1/things/{id}) match their template (/v1/things/*), literal before template.
    dynamic "route_rules" {
      for_each = local.lb_path_order
      content {
        priority = route_rules.key + 1
        service  = google_compute_backend_service.function[local.lb_paths[route_rules.value].functions[0]].id

        match_rules {
          full_path_match     = local.lb_paths[route_rules.value].literal ? route_rules.value : null
          path_template_match = local.lb_paths[route_rules.value].literal ? null : local.lb_paths[route_rules.value].template
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.http_functions) > 0
      error_message = "The manifest has no HTTP function; the load balancer needs at least one."
    }
    precondition {
      condition     = alltrue([for p, v in local.lb_paths : length(v.functions) == 1])
      error_message = "A path is served by more than one function (the load balancer routes by path, not method): ${join(", ", [for p, v in local.lb_paths : p if length(v.functions) > 1])}."
    }
  }
}

locals {
  lb_default_function = contains(keys(local.http_functions), var.default_http_function) ? var.default_http_function : sort(keys(local.http_functions))[0]
}

resource "google_compute_target_https_proxy" "api" {
  name             = "api-${var.environment}"
  url_map          = google_compute_url_map.api.id
  ssl_certificates = [google_compute_managed_ssl_certificate.api.id]
  ssl_policy       = google_compute_ssl_policy.api.id
}

resource "google_compute_global_forwarding_rule" "https" {
  name                  = "api-${var.environment}-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.api.id
  ip_protocol           = "TCP"
  port_range            = "443"
  target                = google_compute_target_https_proxy.api.id
}

# Plain HTTP only ever answers with a redirect to HTTPS.
resource "google_compute_url_map" "http_redirect" {
  name = "api-${var.environment}-http-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "http_redirect" {
  name    = "api-${var.environment}-http-redirect"
  url_map = google_compute_url_map.http_redirect.id
}

resource "google_compute_global_forwarding_rule" "http_redirect" {
  name                  = "api-${var.environment}-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.api.id
  ip_protocol           = "TCP"
  port_range            = "80"
  target                = google_compute_target_http_proxy.http_redirect.id
}

# Cloud Armor, evaluated in priority order (lowest first, first match wins):
#   100-199   OWASP preconfigured rules (SQL injection, XSS, Log4j): deny 403
#   900+      the staff console (/staff/...) from var.staff_allowed_cidrs: allow
#   1000+     staff routes from var.staff_allowed_cidrs: allow
#   4900      the staff console from anywhere else: deny 403
#   5000+     staff routes from anywhere else: deny 403
#   9000      every client IP: throttle to var.rate_limit_requests_per_minute, then 429
#   default   allow
locals {
  staff_route_keys = sort(keys(local.staff_routes))
  # One rule per staff route and network: Cloud Armor allows at most five subexpressions in
  # one rule, so networks cannot be ORed into a single expression.
  staff_allow_rules = {
    for g in setproduct(range(length(local.staff_route_keys)), range(length(var.staff_allowed_cidrs))) :
    1000 + g[0] * 50 + g[1] => {
      route = local.staff_routes[local.staff_route_keys[g[0]]]
      cidr  = var.staff_allowed_cidrs[g[1]]
    }
  }
  staff_deny_rules = {
    for i, k in local.staff_route_keys : 5000 + i => local.staff_routes[k]
  }
  console_allow_rules = {
    for i, cidr in var.staff_allowed_cidrs : 900 + i => { cidr = cidr, regex = local.console_paths["/staff/"].regex }
    if length(local.console_paths) > 0
  }
  console_deny_rules = {
    for p, v in local.console_paths : 4900 => v
  }
}

resource "google_compute_security_policy" "api" {
  name        = "api-${var.environment}"
  description = "Lederappen API: OWASP rules, staff routes only from staff networks, per-IP rate limit."
  type        = "CLOUD_ARMOR"

  advanced_options_config {
    json_parsing = "STANDARD"
    log_level    = "NORMAL"
  }

  adaptive_protection_config {
    layer_7_ddos_defense_config {
      enable = true
    }
  }

  # OWASP preconfigured rules, at the lowest sensitivity (fewest false positives on JSON).
  rule {
    priority    = 100
    action      = "deny(403)"
    description = "OWASP SQL injection"
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1})"
      }
    }
  }

  rule {
    priority    = 110
    action      = "deny(403)"
    description = "OWASP cross-site scripting"
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('xss-v33-stable', {'sensitivity': 1})"
      }
    }
  }

  rule {
    priority    = 120
    action      = "deny(403)"
    description = "Log4j message lookup (CVE-2021-44228)"
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('cve-canary')"
      }
    }
  }

  dynamic "rule" {
    for_each = local.staff_allow_rules
    content {
      priority    = rule.key
      action      = "allow"
      description = "Staff route ${rule.value.route.method} ${rule.value.route.path} from ${rule.value.cidr}"
      match {
        expr {
          expression = "request.method == '${rule.value.route.method}' && request.path.matches('${rule.value.route.regex}') && inIpRange(origin.ip, '${rule.value.cidr}')"
        }
      }
    }
  }

  dynamic "rule" {
    for_each = local.console_allow_rules
    content {
      priority    = rule.key
      action      = "allow"
      description = "Staff console from ${rule.value.cidr}"
      match {
        expr {
          expression = "request.path.matches('${rule.value.regex}') && inIpRange(origin.ip, '${rule.value.cidr}')"
        }
      }
    }
  }

  dynamic "rule" {
    for_each = local.console_deny_rules
    content {
      priority    = rule.key
      action      = "deny(403)"
      description = "Staff console from outside the staff networks"
      match {
        expr {
          expression = "request.path.matches('${rule.value.regex}')"
        }
      }
    }
  }

  dynamic "rule" {
    for_each = local.staff_deny_rules
    content {
      priority    = rule.key
      action      = "deny(403)"
      description = "Staff route ${rule.value.method} ${rule.value.path} from outside the staff networks"
      match {
        expr {
          expression = "request.method == '${rule.value.method}' && request.path.matches('${rule.value.regex}')"
        }
      }
    }
  }

  rule {
    priority    = 9000
    action      = "throttle"
    description = "Per-client rate limit"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"
      rate_limit_threshold {
        count        = var.rate_limit_requests_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    priority    = 2147483647
    action      = "allow"
    description = "Default rule"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.staff_route_keys) <= 50 && length(var.staff_allowed_cidrs) <= 50
      error_message = "At most 50 staff routes and 50 staff networks (rule priorities are 1000 + 50*route + network)."
    }
  }
}
