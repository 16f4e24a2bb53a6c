-- Issue 18 (R3, R8). What a message to one member concerns, when it is one a member needs
-- even while their processing is restricted (GDPR Art. 18): their privacy request, their
-- membership, or a change of the terms they consented to. Every other message, an editor's
-- direct message included, does not reach a restricted member (notifications/delivery.py).
ALTER TABLE messages ADD COLUMN concerns text
    CHECK (concerns IN ('privacy_request', 'membership', 'terms')),
    ADD CHECK (concerns IS NULL OR audience_kind = 'member');

-- A material change of consent terms is told to the members whose consent it affects before
-- it applies (consents/service.py): when that notice went out, per version.
ALTER TABLE consent_terms ADD COLUMN notified_at timestamptz,
    ADD COLUMN notified integer CHECK (notified >= 0);
