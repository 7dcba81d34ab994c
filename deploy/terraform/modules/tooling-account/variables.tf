variable "issuer_url" {
  description = "OIDC issuer URL, exactly as the tokens' iss claim: https://token.actions.githubusercontent.com, https://gitlab.com, or an EKS cluster's https://oidc.eks.<region>.amazonaws.com/id/<ID>."
  type        = string

  validation {
    condition     = can(regex("^https://[^/?#:]+(/[^?#]*[^/?#])?$", var.issuer_url))
    error_message = "The issuer_url must be an https URL without port, query, fragment or trailing slash (IAM compares it with the token's iss)."
  }
}

variable "client_ids" {
  description = "Audiences (client IDs) the OIDC provider accepts; the role's trust also requires the token's aud to be one of them. Use the audience the broker's issuers[].audiences lists."
  type        = list(string)
  default     = ["sts.amazonaws.com"]

  validation {
    condition     = length(var.client_ids) >= 1 && length(var.client_ids) <= 100 && alltrue([for c in var.client_ids : length(c) >= 1 && length(c) <= 255])
    error_message = "Between 1 and 100 client IDs of 1 to 255 characters each are required."
  }
}

variable "create_oidc_provider" {
  description = "Create the IAM OIDC provider. Set to false when the account already has one for issuer_url (IAM allows one per URL) and pass its ARN in oidc_provider_arn."
  type        = bool
  default     = true
}

variable "oidc_provider_arn" {
  description = "ARN of an existing IAM OIDC provider for issuer_url; used only when create_oidc_provider is false."
  type        = string
  default     = null
}

variable "thumbprints" {
  description = "Optional SHA-1 thumbprints of the issuer's TLS certificate chain. IAM no longer needs them for issuers whose certificates chain to a trusted root CA."
  type        = list(string)
  default     = []
}

variable "role_name" {
  description = "Name of the web-identity role (hop 1 of the broker's chain)."
  type        = string
  default     = "github-actions-oidc"
}

variable "role_path" {
  description = "IAM path of the role."
  type        = string
  default     = "/"
}

variable "allowed_subjects" {
  description = "sub patterns (IAM StringLike: * and ?) allowed to assume the role, one per repository and ref, e.g. repo:myorg/app:ref:refs/heads/main, project_path:mygroup/app:ref_type:branch:ref:main or system:serviceaccount:ci:ci-runner. A wildcard before the owner is pinned, such as *, repo:*, repo:myorg* or *:ref:refs/heads/main, is refused: it would let other owners' repositories on the issuer assume the role."
  type        = list(string)

  validation {
    condition     = length(var.allowed_subjects) >= 1
    error_message = "At least one subject is required."
  }

  validation {
    condition     = alltrue([for s in var.allowed_subjects : !can(regex("[*?]", s)) || can(regex("^(repo:[^*?/@:]+[/@]|repository_owner(_id)?:[^*?:]+:|repository_id:[^*?:]+:|project_path:[^*?/:]+/|system:serviceaccount:[^*?:]+:|organization:[^*?:]+:|org/[^*?/]+/)", s))])
    error_message = "A subject with a wildcard must pin the owner before it (repo:OWNER/…, project_path:GROUP/…, system:serviceaccount:NAMESPACE:…): *, repo:*, repo:myorg* and *:ref:refs/heads/main let other owners' repositories in. E.g. repo:myorg/app:ref:refs/heads/main."
  }
}

variable "target_role_arns" {
  description = "ARNs of the target-account roles this role may assume (hop 2). They may be built from known account IDs and names: the roles need not exist yet."
  type        = list(string)

  validation {
    condition     = length(var.target_role_arns) >= 1 && alltrue([for a in var.target_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "At least one role ARN (arn:<partition>:iam::<12-digit account>:role/<name>) is required."
  }
}

variable "max_session_duration" {
  description = "Maximum session duration of the role in seconds (3600 to 43200). The broker's hop 1 duration must not exceed it."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "The max_session_duration must be between 3600 and 43200 seconds."
  }
}

variable "permissions_boundary" {
  description = "Optional ARN of a permissions boundary for the role."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
