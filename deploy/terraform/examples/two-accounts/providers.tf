# Two accounts from one root, as in the seed: the default provider is the
# tooling account (where the OIDC provider and the web-identity role live),
# the aliased one is the target account (where the deploy role lives).
provider "aws" {
  profile = var.tooling_profile
  region  = var.region
}

provider "aws" {
  alias   = "target"
  profile = var.target_profile
  region  = var.region
}

data "aws_caller_identity" "tooling" {}

data "aws_caller_identity" "target" {
  provider = aws.target
}
