# Everything per function is derived here from the one list of functions,
# functions/manifest.json, and from the settings export, config_settings.json (written by
# infra/scripts/export_config.py from lederappen.core.config). Nothing in this directory names
# a function by hand: add a function to the manifest and `terraform plan` shows its service
# account, function, trigger, topics, secrets, database user, routes and alerts.
#
# This file uses no variables, data sources or resources, so tests can evaluate it on its own
# (tests/unit/test_terraform.py compares it with the same derivation done in Python).

locals {
  manifest = jsondecode(file("${path.module}/../functions/manifest.json"))
  settings = jsondecode(file("${path.module}/config_settings.json")).settings
  defaults = local.manifest.defaults

  # One object per manifest function, with the manifest's defaults applied (same rules as
  # functions/lederappen/core/manifest.py).
  functions = {
    for f in local.manifest.functions : f.name => {
      name                  = f.name
      entry_point           = f.entry_point
      kind                  = f.kind
      description           = try(f.description, "")
      routes                = try(f.routes, [])
      uses                  = try(f.uses, [])
      sections              = concat(["common"], try(f.uses, []))
      db_privileges         = try(f.db_privileges, {})
      publishes             = try(f.publishes, [])
      pulls                 = try(f.pulls, [])
      topic                 = try(f.topic, null)
      dead_letter_topic     = try(f.dead_letter_topic, null)
      max_delivery_attempts = try(f.max_delivery_attempts, 5)
      ack_deadline_seconds  = try(f.ack_deadline_seconds, 60)
      schedule              = try(f.schedule, null)
      time_zone             = try(f.time_zone, "Europe/Oslo")
      runtime               = local.defaults.runtime
      memory                = try(f.memory, local.defaults.memory)
      cpu                   = tostring(try(f.cpu, local.defaults.cpu))
      timeout_seconds       = try(f.timeout_seconds, local.defaults.timeout_seconds)
      min_instances         = try(f.min_instances, local.defaults.min_instances)
      max_instances         = try(f.max_instances, local.defaults.max_instances)
      concurrency           = try(f.concurrency, local.defaults.concurrency)
      # The path Cloud Scheduler or the Pub/Sub push subscription calls: the first route whose
      # auth is "job"; "" (the function's root) when there is none.
      job_path   = try([for r in try(f.routes, []) : r.path if r.auth == "job"][0], "")
      job_method = try([for r in try(f.routes, []) : r.method if r.auth == "job"][0], "POST")
    }
  }

  # By trigger. HTTP functions sit behind the HTTPS load balancer; scheduled functions are
  # called by Cloud Scheduler with an OIDC token; pubsub functions by a push subscription
  # with an OIDC token and a dead-letter policy (see pubsub.tf for why not an Eventarc trigger).
  http_functions      = { for n, f in local.functions : n => f if f.kind == "http" }
  scheduled_functions = { for n, f in local.functions : n => f if f.kind == "scheduled" }
  pubsub_functions    = { for n, f in local.functions : n => f if f.kind == "pubsub" }
  db_functions        = { for n, f in local.functions : n => f if contains(f.uses, "db") }
  firestore_functions = { for n, f in local.functions : n => f if contains(f.uses, "firestore") }
  fcm_functions       = { for n, f in local.functions : n => f if contains(f.uses, "fcm") }

  # Service account ids (6-30 characters). A name that does not fit is shortened and given a
  # hash suffix so two long names cannot collide. infra/grants.py derives the same ids.
  account_prefixes = {
    function  = "fn-"
    scheduler = "sch-"
    push      = "psh-"
  }
  account_ids = {
    for kind, prefix in local.account_prefixes : kind => {
      for name in keys(local.functions) : name => (
        length("${prefix}${name}") <= 30
        ? "${prefix}${name}"
        : "${prefix}${substr(name, 0, 23 - length(prefix))}-${substr(sha256(name), 0, 6)}"
      )
    }
  }

  # Topics: every topic a function is triggered by, dead-letters to, or publishes to.
  topics = toset([
    for t in flatten([
      for f in local.functions : concat([f.topic, f.dead_letter_topic], f.publishes)
    ]) : t if t != null
  ])
  dead_letter_topics = toset([for f in local.pubsub_functions : f.dead_letter_topic])

  # roles/pubsub.publisher, granted on each topic only to the functions that publish to it.
  publisher_grants = {
    for g in flatten([
      for n, f in local.functions : [for t in f.publishes : { function = n, topic = t }]
    ]) : "${g.function}/${g.topic}" => g
  }

  # roles/pubsub.subscriber, granted on each <dead-letter-topic>-inspect subscription only to
  # the functions that list it in "pulls" (the manifest parser refuses any other subscription).
  subscriber_grants = {
    for g in flatten([
      for n, f in local.functions : [
        for s in f.pulls : { function = n, dead_letter_topic = trimsuffix(s, "-inspect") }
      ]
    ]) : "${g.function}/${g.dead_letter_topic}-inspect" => g
  }

  # Settings, as declared in lederappen.core.config.
  # DB_PASSWORD is for direct connections only; in Google Cloud the functions use IAM database
  # authentication through the Cloud SQL connector, so no database password exists at all.
  secrets_not_used_in_cloud = ["DB_PASSWORD"]

  secret_settings = toset([
    for s in local.settings : s.env if s.secret && !contains(local.secrets_not_used_in_cloud, s.env)
  ])
  secret_env_names = local.secret_settings

  # Per function: the secret settings of its sections (wired from Secret Manager) and the
  # plain settings of its sections (set as environment variables when Terraform knows a value).
  function_secret_envs = {
    for n, f in local.functions : n => sort([
      for s in local.settings : s.env
      if s.secret && contains(f.sections, s.section) && contains(local.secret_settings, s.env)
    ])
  }
  function_plain_env_names = {
    for n, f in local.functions : n => [
      for s in local.settings : s.env if !s.secret && contains(f.sections, s.section)
    ]
  }
  # roles/secretmanager.secretAccessor, per secret, only for the functions that read it.
  secret_grants = {
    for g in flatten([
      for n, envs in local.function_secret_envs : [for e in envs : { function = n, env = e }]
    ]) : "${g.function}/${g.env}" => g
  }

  # Load balancer routing for HTTP functions. A route path such as /v1/things/{id} becomes
  # the URL-map template /v1/things/* (one path segment per variable).
  http_routes = flatten([
    for n, f in local.http_functions : [
      for r in f.routes : {
        function = n
        method   = r.method
        path     = r.path
        auth     = r.auth
      }
    ]
  ])
  lb_paths = {
    for p in distinct([for r in local.http_routes : r.path]) : p => {
      functions = distinct([for r in local.http_routes : r.function if r.path == p])
      template  = replace(p, "/\\{[^}]+\\}/", "*")
      literal   = !strcontains(p, "{")
    }
  }
  # Literal paths are matched before templates, so /v1/things/mine wins over /v1/things/{id}.
  lb_path_order = concat(
    sort([for p, v in local.lb_paths : p if v.literal]),
    sort([for p, v in local.lb_paths : p if !v.literal]),
  )

  # Staff routes (auth "staff:<role>"): Cloud Armor lets them through only from the staff
  # networks. The regex is anchored; "." is literal and each {variable} is one segment.
  # The staff console's pages (/staff/...) are matched as one prefix instead, whatever their
  # auth (its sign-in pages too): see console_paths.
  staff_routes = {
    for r in local.http_routes : "${r.method} ${r.path}" => merge(r, {
      regex = "^${replace(replace(r.path, ".", "[.]"), "/\\{[^}]+\\}/", "[^/]+")}$"
    }) if startswith(r.auth, "staff:") && !startswith(r.path, "/staff/")
  }
  # Cloud Armor lets the console (every path under /staff/) through only from the staff
  # networks: one allow rule per network and one deny rule, when the manifest has a console.
  console_paths = length([for r in local.http_routes : r if startswith(r.path, "/staff/")]) > 0 ? {
    "/staff/" = { regex = "^/staff/.*$" }
  } : {}
}
