// Key Vault in RBAC mode with purge protection, holding every secret the app reads (shared/config.py
// SECRET_FIELDS; names as shared/secrets.vault_secret_name writes them: JWT_SIGNING_KEY -> JWT-SIGNING-KEY).
// A secret is written only when its parameter has a value, so rotating one in the vault is never undone
// by a deployment that does not carry it.

param location string
param tags object
param name string
@secure()
@description('JWT-SIGNING-KEY; empty leaves the vault as it is.')
param jwtSigningKey string
@secure()
@description('TWILIO-AUTH-TOKEN; empty leaves the vault as it is.')
param twilioAuthToken string
@secure()
@description('SMTP-PASSWORD; empty leaves the vault as it is.')
param smtpPassword string
@secure()
@description('INSPECTION-LINK-SIGNING-KEY; empty leaves the vault as it is.')
param inspectionLinkSigningKey string
@secure()
param anthropicApiKey string
@secure()
param geminiApiKey string
@secure()
param servicetitanAppKey string
@secure()
param pricebookKeyEncryptionKey string
@secure()
@description('ELEVENLABS-API-KEY; empty leaves the vault as it is.')
param elevenlabsApiKey string = ''
@secure()
@description('ELEVENLABS-WEBHOOK-SECRET; empty leaves the vault as it is.')
param elevenlabsWebhookSecret string = ''
@secure()
@description('ELEVENLABS-TOOL-SECRET; empty leaves the vault as it is.')
param elevenlabsToolSecret string = ''
param functionPrincipalId string
param deployerPrincipalId string
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var secretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  //checkov:skip=CKV_AZURE_109:No firewall: Flex Consumption without a VNet has no fixed outbound addresses; access is RBAC only (Key Vault Secrets User for the app).
  //checkov:skip=CKV_AZURE_189:Public network access stays on for the same reason; no access policy exists, RBAC decides.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enablePurgeProtection: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource jwtSigningKeySecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(jwtSigningKey)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'JWT-SIGNING-KEY'
  properties: {
    value: jwtSigningKey
    contentType: 'text/plain'
  }
}

resource twilioAuthTokenSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(twilioAuthToken)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'TWILIO-AUTH-TOKEN'
  properties: {
    value: twilioAuthToken
    contentType: 'text/plain'
  }
}

resource smtpPasswordSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(smtpPassword)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'SMTP-PASSWORD'
  properties: {
    value: smtpPassword
    contentType: 'text/plain'
  }
}

resource inspectionLinkSigningKeySecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(inspectionLinkSigningKey)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'INSPECTION-LINK-SIGNING-KEY'
  properties: {
    value: inspectionLinkSigningKey
    contentType: 'text/plain'
  }
}

resource anthropicApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(anthropicApiKey)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'ANTHROPIC-API-KEY'
  properties: {
    value: anthropicApiKey
    contentType: 'text/plain'
  }
}

resource geminiApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(geminiApiKey)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'GEMINI-API-KEY'
  properties: {
    value: geminiApiKey
    contentType: 'text/plain'
  }
}

resource elevenlabsApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(elevenlabsApiKey)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'ELEVENLABS-API-KEY'
  properties: {
    value: elevenlabsApiKey
    contentType: 'text/plain'
  }
}

resource elevenlabsWebhookSecretSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(elevenlabsWebhookSecret)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'ELEVENLABS-WEBHOOK-SECRET'
  properties: {
    value: elevenlabsWebhookSecret
    contentType: 'text/plain'
  }
}

resource elevenlabsToolSecretSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(elevenlabsToolSecret)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'ELEVENLABS-TOOL-SECRET'
  properties: {
    value: elevenlabsToolSecret
    contentType: 'text/plain'
  }
}

resource servicetitanAppKeySecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(servicetitanAppKey)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'SERVICETITAN-APP-KEY'
  properties: {
    value: servicetitanAppKey
    contentType: 'text/plain'
  }
}

resource pricebookKeyEncryptionKeySecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(pricebookKeyEncryptionKey)) {
  //checkov:skip=CKV_AZURE_41:No expiry: the app reads secrets once at start-up, and an expired signing key or provider token would stop sign-in or messaging; rotation is a documented manual step (infra/bicep/README.md).
  //checkov:skip=CKV_AZURE_114:contentType is set (text/plain); checkov does not read it on a conditional resource.
  parent: vault
  name: 'PRICEBOOK-KEY-ENCRYPTION-KEY'
  properties: {
    value: pricebookKeyEncryptionKey
    contentType: 'text/plain'
  }
}

resource functionReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, functionPrincipalId, secretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The deployer rotates secrets (infra/bicep/README.md).
resource deployerManagesSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(vault.id, deployerPrincipalId, secretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
