//! The User schemas scimd serves: RFC 7643 §4.1 core User, §4.3 enterprise extension, and the
//! inSync extension (`userPrincipalName` plus open custom attributes, SPEC ).

use super::Schema;
use super::attribute::{AttrType, Attribute as A, Mutability, Returned, Uniqueness};

pub const CORE_USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const INSYNC_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:Druva:2.0:User";

/// RFC 7643 §3.1 common attributes: part of every resource, defined by no schema.
pub static COMMON: &[A] = &[
    A::string(
        "schemas",
        "The schema URNs the resource uses; computed by the service provider.",
    )
    .multi()
    .mutability(Mutability::ReadOnly)
    .returned(Returned::Always),
    A::string(
        "id",
        "Unique identifier for the resource, assigned by the service provider.",
    )
    .case_exact()
    .mutability(Mutability::ReadOnly)
    .returned(Returned::Always)
    .unique(Uniqueness::Server),
    A::string(
        "externalId",
        "Identifier of the resource as defined by the provisioning client.",
    )
    .case_exact(),
    A::complex(
        "meta",
        &[
            A::string(
                "resourceType",
                "The name of the resource type of the resource.",
            )
            .case_exact()
            .mutability(Mutability::ReadOnly),
            A::date_time(
                "created",
                "When the resource was added to the service provider.",
            )
            .mutability(Mutability::ReadOnly),
            A::date_time("lastModified", "When the resource was last updated.")
                .mutability(Mutability::ReadOnly),
            A::reference(
                "location",
                &["uri"],
                "The URI of the resource being returned.",
            )
            .mutability(Mutability::ReadOnly),
            A::string("version", "The version (weak ETag) of the resource.")
                .case_exact()
                .mutability(Mutability::ReadOnly),
        ],
        "Resource metadata.",
    )
    .mutability(Mutability::ReadOnly),
];

const fn value(description: &'static str) -> A {
    A::string("value", description)
}
const DISPLAY: A = A::string(
    "display",
    "A human-readable name, primarily used for display.",
);
const PRIMARY: A = A::boolean(
    "primary",
    "Whether this is the preferred value; true appears at most once.",
);
const fn kind(values: &'static [&'static str]) -> A {
    A::string("type", "A label indicating the attribute's function.").canonical(values)
}

pub static CORE_USER_ATTRIBUTES: &[A] = &[
    A::string(
        "userName",
        "Unique identifier for the User; here, the account's email address.",
    )
    .required()
    .unique(Uniqueness::Server),
    A::complex(
        "name",
        &[
            A::string("formatted", "The full name, formatted for display."),
            A::string("familyName", "The family name of the User."),
            A::string("givenName", "The given name of the User."),
            A::string("middleName", "The middle name(s) of the User."),
            A::string("honorificPrefix", "The honorific prefix(es) of the User."),
            A::string("honorificSuffix", "The honorific suffix(es) of the User."),
        ],
        "The components of the user's real name.",
    ),
    A::string(
        "displayName",
        "The name of the User, suitable for display to end-users.",
    ),
    A::string(
        "nickName",
        "The casual way to address the user in real life.",
    ),
    A::reference(
        "profileUrl",
        &["external"],
        "A fully qualified URL to the User's profile.",
    ),
    A::string("title", "The user's title, such as \"Vice President\"."),
    A::string(
        "userType",
        "The relationship between the organization and the user.",
    ),
    A::string(
        "preferredLanguage",
        "The User's preferred written or spoken language.",
    ),
    A::string(
        "locale",
        "The User's default location, for localizing items such as currency.",
    ),
    A::string(
        "timezone",
        "The User's time zone in the IANA Time Zone database format.",
    ),
    A::boolean(
        "active",
        "The User's administrative status; false means preserved.",
    ),
    A::string(
        "password",
        "Never stored nor returned: scimd does not sync passwords.",
    )
    .mutability(Mutability::WriteOnly)
    .returned(Returned::Never),
    A::complex(
        "emails",
        &[
            value("Email address for the User."),
            DISPLAY,
            kind(&["work", "home", "other"]),
            PRIMARY,
        ],
        "Email addresses for the user.",
    )
    .multi(),
    A::complex(
        "phoneNumbers",
        &[
            value("Phone number of the User."),
            DISPLAY,
            kind(&["work", "home", "mobile", "fax", "pager", "other"]),
            PRIMARY,
        ],
        "Phone numbers for the User.",
    )
    .multi(),
    A::complex(
        "ims",
        &[
            value("Instant messaging address for the User."),
            DISPLAY,
            kind(&["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
            PRIMARY,
        ],
        "Instant messaging addresses for the User.",
    )
    .multi(),
    A::complex(
        "photos",
        &[
            A::reference("value", &["external"], "URL of a photo of the User."),
            DISPLAY,
            kind(&["photo", "thumbnail"]),
            PRIMARY,
        ],
        "URLs of photos of the User.",
    )
    .multi(),
    A::complex(
        "addresses",
        &[
            A::string(
                "formatted",
                "The full mailing address, formatted for display.",
            )
            .line_breaks(),
            A::string("streetAddress", "The full street address component."),
            A::string("locality", "The city or locality component."),
            A::string("region", "The state or region component."),
            A::string("postalCode", "The zip code or postal code component."),
            A::string("country", "The country name component."),
            kind(&["work", "home", "other"]),
            PRIMARY,
        ],
        "A physical mailing address for this User.",
    )
    .multi(),
    A::complex(
        "groups",
        &[
            value("The identifier of the User's group.").mutability(Mutability::ReadOnly),
            A::reference("$ref", &["User", "Group"], "The URI of the Group resource.")
                .mutability(Mutability::ReadOnly),
            A::string("display", "A human-readable name for the group.")
                .mutability(Mutability::ReadOnly),
            A::string("type", "Direct or indirect membership.")
                .canonical(&["direct", "indirect"])
                .mutability(Mutability::ReadOnly),
        ],
        "Groups the user belongs to; not managed by scimd, so always empty.",
    )
    .multi()
    .mutability(Mutability::ReadOnly),
    A::complex(
        "entitlements",
        &[
            value("The value of an entitlement."),
            DISPLAY,
            kind(&[]),
            PRIMARY,
        ],
        "A list of entitlements for the User.",
    )
    .multi(),
    A::complex(
        "roles",
        &[value("The value of a role."), DISPLAY, kind(&[]), PRIMARY],
        "A list of roles for the User.",
    )
    .multi(),
    A::complex(
        "x509Certificates",
        &[
            A::new(
                "value",
                AttrType::Binary,
                "The value of an X.509 certificate.",
            ),
            DISPLAY,
            kind(&[]),
            PRIMARY,
        ],
        "A list of certificates issued to the User.",
    )
    .multi(),
];

pub static ENTERPRISE_USER_ATTRIBUTES: &[A] = &[
    A::string(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person.",
    ),
    A::string("costCenter", "Identifies the name of a cost center."),
    A::string("organization", "Identifies the name of an organization."),
    A::string("division", "Identifies the name of a division."),
    A::string("department", "Identifies the name of a department."),
    A::complex(
        "manager",
        &[
            value("The id of the SCIM resource representing the User's manager."),
            A::reference(
                "$ref",
                &["User"],
                "The URI of the SCIM resource of the manager.",
            ),
            A::string("displayName", "The displayName of the User's manager.")
                .mutability(Mutability::ReadOnly),
        ],
        "The User's manager.",
    ),
];

/// Keys the inSync extension accepts only to classify a new user: documented here so IdPs
/// can map them, and honestly marked as never returned.
const fn custom(name: &'static str, description: &'static str) -> A {
    A::string(name, description)
        .mutability(Mutability::WriteOnly)
        .returned(Returned::Never)
}

pub static INSYNC_USER_ATTRIBUTES: &[A] = &[
    A::string(
        "userPrincipalName",
        "The account's UPN; when absent, the display name is used.",
    ),
    custom(
        "city",
        "Custom attribute for mappings; evaluated at creation, never stored.",
    ),
    custom(
        "country",
        "Custom attribute for mappings; evaluated at creation, never stored.",
    ),
    custom(
        "department",
        "Custom attribute for mappings; evaluated at creation, never stored.",
    ),
];

pub static CORE_USER: Schema = Schema {
    id: CORE_USER_URN,
    name: "User",
    description: "User Account",
    attributes: CORE_USER_ATTRIBUTES,
    open: false,
};

pub static ENTERPRISE_USER: Schema = Schema {
    id: ENTERPRISE_USER_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_USER_ATTRIBUTES,
    open: false,
};

pub static INSYNC_USER: Schema = Schema {
    id: INSYNC_USER_URN,
    name: "inSyncUser",
    description: "inSync account attributes. Any other key is accepted as a custom attribute: \
                  used by mappings when the user is created, then discarded.",
    attributes: INSYNC_USER_ATTRIBUTES,
    open: true,
};
