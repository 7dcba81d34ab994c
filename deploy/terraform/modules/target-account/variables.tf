variable "role_name" {
  description = "Name of the target role (the last hop of the broker's chain)."
  type        = string
  default     = "ci-deploy-role"
}

variable "role_path" {
  description = "IAM path of the role."
  type        = string
  default     = "/"
}

variable "trusted_role_arns" {
  description = "ARNs of the roles allowed to assume this one: the tooling-account web-identity role (tooling-account module output role_arn). Whole accounts (:root) are refused."
  type        = list(string)

  validation {
    condition     = length(var.trusted_role_arns) >= 1 && alltrue([for a in var.trusted_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "At least one role ARN (arn:<partition>:iam::<12-digit account>:role/<name>) is required; account principals (:root) are not accepted."
  }
}

variable "external_id" {
  description = "ExternalId the trust policy requires (sts:ExternalId). Leave null to generate a random one (output external_id)."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.external_id == null || can(regex("^[[:alnum:]_+=,.@:/-]{2,1000}$", var.external_id))
    error_message = "The ExternalId must be 2 to 1000 characters of letters, digits and _+=,.@:/- (STS allows 1224, Terraform's regex engine counts to 1000)."
  }
}

variable "external_id_length" {
  description = "Length of a generated ExternalId."
  type        = number
  default     = 32

  validation {
    condition     = var.external_id_length >= 16 && var.external_id_length <= 1000
    error_message = "A generated ExternalId must be 16 to 1000 characters long."
  }
}

variable "policy_arns" {
  description = "ARNs of managed policies that give the role its permissions in the target account."
  type        = list(string)
  default     = []
}

variable "inline_policy" {
  description = "Optional inline permission policy JSON (e.g. jsonencode({...}))."
  type        = string
  default     = null
}

variable "max_session_duration" {
  description = "Maximum session duration in seconds (3600 to 43200). The broker reaches this role by role chaining, which AWS caps at 1 hour whatever this says."
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
