output "tooling_role_arn" {
  description = "Hop 1: chain[0].role_arn of the broker profile."
  value       = module.tooling.role_arn
}

output "target_role_arn" {
  description = "Hop 2: chain[1].role_arn of the broker profile."
  value       = module.target.role_arn
}

output "external_id" {
  description = "The ExternalId of hop 2. Hand it to the broker only: terraform output -raw external_id > external-id"
  value       = module.target.external_id
  sensitive   = true
}

output "broker_profile" {
  description = "The broker configuration these roles serve: paste into broker.yaml (issuers: and profiles:). The ExternalId is read from the environment (PROD_EXTERNAL_ID) or from external_id_file, never written here."
  value       = <<-EOT
    issuers:
      - name: ci
        url: ${var.issuer_url}
        audiences: [${var.audience}]
    profiles:
      ${var.profile_name}:
        issuer: ci
        conditions:
          StringEquals: {aud: ${var.audience}}
          StringLike:
            sub: ${jsonencode(var.allowed_subjects)}
        chain:
          - role_arn: ${module.tooling.role_arn}
            duration: 1h
          - role_arn: ${module.target.role_arn}
            external_id: $${env:PROD_EXTERNAL_ID}
            duration: 1h
  EOT
}
