-- Each tenant's provisioning method (SPEC R-47): 'scim', where IdPs provision over SCIM (every
-- tenant so far), or 'manual', where SCIM calls are refused and admins manage users themselves.
ALTER TABLE tenants ADD COLUMN provisioning TEXT NOT NULL DEFAULT 'scim'
    CHECK (provisioning IN ('scim', 'manual'));
