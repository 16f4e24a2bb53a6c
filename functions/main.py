"""Every Cloud Function's entry point, for functions-framework (`--target NAME`).

Keep this file to one line per function. Each entry point imports its feature lazily, so a
function's cold start pays only for the libraries that feature uses. The list here, the
manifest (manifest.json) and Terraform must agree; tests/unit/test_manifest.py checks it.
"""

from lederappen.core.entry import http_function, install_error_pages, web_function
from lederappen.core.events import event_function

install_error_pages()  # the framework's own error pages become problem+json, echoing nothing

meta = http_function("meta", "lederappen.meta.api")
profile = http_function("profile", "lederappen.profile.api")
consents = http_function("consents", "lederappen.consents.api")
consent_admin = http_function("consent_admin", "lederappen.consents.admin")
preferences = http_function("preferences", "lederappen.preferences.api")
feed = http_function("feed", "lederappen.feed.api")
outbox_relay = http_function("outbox_relay", "lederappen.outbox_relay.job")
newsletter_sync = event_function("newsletter_sync", "lederappen.newsletter.events")
salary = http_function("salary", "lederappen.salary.api")
salary_admin = http_function("salary_admin", "lederappen.salary.admin")
salary_releases = http_function("salary_releases", "lederappen.salary.releases")
dead_letters = http_function("dead_letters", "lederappen.deadletters.api")
salary_statistics = http_function("salary_statistics", "lederappen.salary.job")
retention = http_function("retention", "lederappen.privacy.retention")
devices = http_function("devices", "lederappen.devices.api")
inbox = http_function("inbox", "lederappen.inbox.api")
messages_admin = http_function("messages_admin", "lederappen.notifications.admin")
message_fanout = event_function("message_fanout", "lederappen.notifications.fanout")
message_delivery = event_function("message_delivery", "lederappen.notifications.delivery")
terms_notice = event_function("terms_notice", "lederappen.notifications.terms_notice")
mentoring = http_function("mentoring", "lederappen.mentoring.api")
mentoring_admin = http_function("mentoring_admin", "lederappen.mentoring.admin")
mentor_matching = http_function("mentor_matching", "lederappen.mentoring.job")
privacy = http_function("privacy", "lederappen.privacy.api")
privacy_requests = http_function("privacy_requests", "lederappen.privacy.member_requests")
privacy_admin = http_function("privacy_admin", "lederappen.privacy.admin")
privacy_worker = event_function("privacy_worker", "lederappen.privacy.events")
membership_end = http_function("membership_end", "lederappen.privacy.membership_end")
staff_console = web_function("staff_console", "lederappen.console.app")
