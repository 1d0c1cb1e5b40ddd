// The function app on Flex Consumption (FC1, Python 3.11). The host and the app reach Storage,
// Key Vault, PostgreSQL and Application Insights with the app's user-assigned identity; no setting
// holds a key, a password or a connection string with a secret in it.
// Flex Consumption forbids FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE,
// WEBSITE_CONTENTSHARE, WEBSITE_CONTENTAZUREFILECONNECTIONSTRING and WEBSITE_NODE_DEFAULT_VERSION: the
// runtime is functionAppConfig.runtime, the package lives in the deployment container.

param location string
param tags object
param planName string
param name string
param identityId string
param identityClientId string
param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainer string
param appInsightsName string
param keyVaultUri string
param databaseHost string
param databaseName string
param instanceMemoryMB int = 2048
param maximumInstanceCount int = 40
@description('Instances kept warm for the Durable Functions group (orchestrators, activities, entities).')
param durableAlwaysReady int = 1
param logLevel string = 'INFO'
@description('Public origin the app links to in emails and SMS; the function app\'s own host name when empty.')
param publicBaseUrl string = ''
param twilioAccountSid string = ''
param twilioVerifyServiceSid string = ''
param smtpHost string = ''
param smtpPort int = 587
param smtpUsername string = ''
param smtpFrom string = ''
param smtpTls string = 'starttls'
@description('Origins (comma-separated) the PWA uploads from; the storage account\'s CORS allows the same.')
param uploadCorsOrigins string = ''
@description('The ElevenLabs agent of voice estimates (its key and secrets are in Key Vault).')
param elevenlabsAgentId string = ''
param renderTemplateContainer string
param renderOutputContainer string
param renderControlContainer string

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  //checkov:skip=CKV_AZURE_225:Zone redundancy on Flex Consumption needs zone-redundant storage and always-ready capacity in every zone; one region, one zone is the cost target (README: idle cost). Revisit with the first SLA.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  //checkov:skip=CKV_AZURE_222:Public by design: the PWA, Twilio webhooks and customers' approval links call the API over the internet; every route authenticates (bearer token, signature or function key).
  //checkov:skip=CKV_AZURE_17:No client certificates: callers are browsers and webhooks; they authenticate with bearer tokens, request signatures or function keys.
  //checkov:skip=CKV_AZURE_212:Flex Consumption scales instances itself (maximumInstanceCount) and keeps the durable group always ready; there is no App Service instance count to set.
  //checkov:skip=CKV_AZURE_213:Flex Consumption replaces failed instances itself and does not use App Service health check; /api/health and /api/ready serve outside probes.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: [
          {
            name: 'durable'
            instanceCount: durableAlwaysReady
          }
        ]
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Deployments sign in with Microsoft Entra ID; publishing user names and passwords stay off.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

// Every setting shared/config.py reads in production, and the host's identity-based storage settings.
// tests/infra/test_settings_drift.py fails when this list and the Settings model disagree.
resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  //checkov:skip=CKV_AZURE_13:App Service Authentication (Easy Auth) stays off: the app authenticates every route itself (shared/auth.py bearer tokens, webhook signatures, function keys).
  //checkov:skip=CKV_AZURE_222:Same as on the site: the API is public by design and authenticates every route.
  //checkov:skip=CKV_AZURE_63:App Service HTTP logs do not exist for Flex Consumption; requests are logged to Application Insights by the host.
  //checkov:skip=CKV_AZURE_65:Detailed error pages are an App Service (IIS) feature; errors go to Application Insights.
  //checkov:skip=CKV_AZURE_66:Failed request tracing is an App Service (IIS) feature; failures go to Application Insights.
  //checkov:skip=CKV_AZURE_80:No .NET: the app is Python 3.11 (functionAppConfig.runtime).
  //checkov:skip=CKV_AZURE_88:Flex Consumption has no Azure Files content share; the package is in the deployment blob container.
  parent: site
  name: 'appsettings'
  properties: {
    // host storage (triggers, Durable Functions task hub) by identity
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__blobServiceUri: blobEndpoint
    AzureWebJobsStorage__queueServiceUri: queueEndpoint
    AzureWebJobsStorage__tableServiceUri: tableEndpoint
    AZURE_CLIENT_ID: identityClientId
    // telemetry by identity (local auth is disabled on the component)
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    KEY_VAULT_URL: keyVaultUri
    APP_ENV: 'production'
    LOG_LEVEL: logLevel
    // PostgreSQL: the identity signs in as the tradeops_app role with an Entra token (infra/hooks/postprovision.sh)
    DATABASE_AUTH: 'entra'
    DATABASE_URL: 'postgresql+psycopg://tradeops_app@${databaseHost}:5432/${databaseName}'
    DB_POOL_SIZE: '3'
    DB_MAX_OVERFLOW: '2'
    DB_STATEMENT_TIMEOUT_MS: '15000'
    PUBLIC_BASE_URL: empty(publicBaseUrl) ? 'https://${site.properties.defaultHostName}' : publicBaseUrl
    CLIENT_IP_HEADER: 'client-ip'
    FORWARDED_FOR_HOPS: '1'
    MAX_BODY_BYTES: '1048576'
    // messaging (the secrets are in Key Vault)
    TWILIO_ACCOUNT_SID: twilioAccountSid
    TWILIO_VERIFY_SERVICE_SID: twilioVerifyServiceSid
    TWILIO_TIMEOUT_SECONDS: '15'
    SMTP_HOST: smtpHost
    SMTP_PORT: string(smtpPort)
    SMTP_USERNAME: smtpUsername
    SMTP_FROM: smtpFrom
    SMTP_TLS: smtpTls
    SMTP_TIMEOUT_SECONDS: '15'
    MESSAGING_MAX_ATTEMPTS: '5'
    MESSAGING_RETRY_BASE_SECONDS: '30'
    MESSAGING_SEND_LEASE_SECONDS: '120'
    MESSAGING_MAX_ATTACHMENT_BYTES: '10485760'
    // identity
    JWT_ISSUER: 'tradeops'
    JWT_AUDIENCE: 'tradeops-api'
    ACCESS_TOKEN_TTL_SECONDS: '900'
    SESSION_IDLE_DAYS: '7'
    SESSION_MAX_DAYS: '30'
    LOGIN_FAILURE_LIMIT: '5'
    LOGIN_FAILURE_WINDOW_SECONDS: '900'
    OTP_SENDS_PER_PHONE: '3'
    OTP_SENDS_PER_IP: '10'
    OTP_SEND_WINDOW_SECONDS: '600'
    INVITATION_TTL_HOURS: '168'
    PASSWORD_RESET_TTL_MINUTES: '60'
    PASSWORD_RESETS_PER_IP: '5'
    PASSWORD_RESETS_PER_EMAIL: '3'
    REGISTRATIONS_PER_IP: '5'
    REGISTRATION_WINDOW_SECONDS: '3600'
    // configurator: render jobs for the Blender container
    RENDER_TEMPLATE_CONTAINER: renderTemplateContainer
    RENDER_OUTPUT_CONTAINER: renderOutputContainer
    RENDER_CONTROL_CONTAINER: renderControlContainer
    RENDER_MAX_RETRIES: '3'
    RENDER_RETRY_BASE_SECONDS: '1'
    RENDER_READ_URL_TTL_SECONDS: '900'
    // estimates: proposal PDFs under tenants/{tenant}/estimates/ in the documents container
    ESTIMATE_DOCUMENTS_CONTAINER: 'documents'
    ESTIMATE_PDF_URL_TTL_SECONDS: '900'
    // uploads (plan sets, photos) by short-lived SAS into one container, checked on commit
    UPLOADS_CONTAINER: 'uploads'
    UPLOAD_CORS_ORIGINS: uploadCorsOrigins
    // estimates photos and colour previews: originals, thumbnails and previews; the daily preview cap per business
    ESTIMATE_PHOTOS_CONTAINER: 'photos'
    PREVIEWS_PER_TENANT_DAY: '50'
    PREVIEW_MAX_ATTEMPTS: '5'
    // estimates by voice: the ElevenLabs agent (API key, webhook and tool secrets in Key Vault)
    ELEVENLABS_AGENT_ID: elevenlabsAgentId
    ELEVENLABS_BASE_URL: 'https://api.elevenlabs.io'
    // bids: plan-set analysis (the Anthropic key is in Key Vault; without it vision is off)
    ANTHROPIC_TIMEOUT_SECONDS: '120'
    ANTHROPIC_MAX_ATTEMPTS: '4'
    BIDS_VISION_MODEL: 'claude-sonnet-4-5'
    BIDS_MAX_UPLOAD_BYTES: '52428800'
    BIDS_MAX_PAGES: '300'
    BIDS_PAGES_IN_FLIGHT: '4'
    BIDS_RENDER_DPI: '100'
    BIDS_VISION_TILE_PX: '1024'
    BIDS_VISION_DAILY_TILES: '2000'
    // estimates: AI colour previews through Gemini (the key is in Key Vault; without it previews are recoloured locally)
    GEMINI_IMAGE_MODEL: 'gemini-3-pro-image-preview'
    GEMINI_TIMEOUT_SECONDS: '120'
    GEMINI_MAX_ATTEMPTS: '4'
    // pricebook: ServiceTitan (the app key and the key-encryption key are in Key Vault)
    SERVICETITAN_AUTH_URL: 'https://auth.servicetitan.io'
    SERVICETITAN_API_BASE_URL: 'https://api.servicetitan.io'
    SERVICETITAN_INTEGRATION_AUTH_URL: 'https://auth-integration.servicetitan.io'
    SERVICETITAN_INTEGRATION_API_BASE_URL: 'https://api-integration.servicetitan.io'
    SERVICETITAN_MAX_RPS: '50'
    SERVICETITAN_TIMEOUT_SECONDS: '30'
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
