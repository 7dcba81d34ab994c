locals {
  # Built from known parts rather than read from module.target: the tooling
  # role's permission policy may name a role that does not exist yet, while
  # the target role's trust must name a tooling role that does. This breaks
  # the cycle and orders creation: tooling first, then target.
  target_role_arn = "arn:aws:iam::${data.aws_caller_identity.target.account_id}:role/${var.target_role_name}"
}

module "tooling" {
  source = "../../modules/tooling-account"

  issuer_url       = var.issuer_url
  client_ids       = [var.audience]
  role_name        = var.tooling_role_name
  allowed_subjects = var.allowed_subjects
  target_role_arns = [local.target_role_arn]
}

module "target" {
  source = "../../modules/target-account"
  providers = {
    aws = aws.target
  }

  role_name         = var.target_role_name
  trusted_role_arns = [module.tooling.role_arn]
  policy_arns       = var.target_policy_arns
}

check "target_role_arn" {
  assert {
    condition     = module.target.role_arn == local.target_role_arn
    error_message = "The target role ARN differs from the one the tooling role may assume: keep role_path at /."
  }
}
