// Tradeops on Azure, one command: `azd up` (or `az deployment sub create`, see README.md).
// Subscription scope: creates the resource group and everything in it.
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('Name of the azd environment (dev, staging, prod...); part of every resource name.')
param environmentName string

@minLength(1)
@description('Azure region of every resource, e.g. westeurope (Flex Consumption must be offered there).')
param location string

@description('Object id of the deployer (azd sets AZURE_PRINCIPAL_ID): PostgreSQL Entra admin, Key Vault secrets officer, registry pusher.')
param principalId string

@description('Sign-in name of the deployer (infra/hooks/preprovision.sh sets AZURE_PRINCIPAL_NAME); the PostgreSQL Entra admin name.')
param principalName string

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Comma-separated origins of the PWA allowed to upload to and read from blob storage with SAS URLs (CORS).')
param corsAllowedOrigins string = ''

@description('Public origin of the API used in links; the function app host name when empty.')
param publicBaseUrl string = ''

@description('Render worker image; azd deploy sets SERVICE_RENDER_IMAGE_NAME after its first build.')
param renderImageName string = ''

param twilioAccountSid string = ''
param twilioVerifyServiceSid string = ''
param smtpHost string = ''
param smtpUsername string = ''
param smtpFrom string = ''

@secure()
@description('HS256 key that signs access tokens (JWT_SIGNING_KEY); preprovision.sh generates one.')
param jwtSigningKey string = ''

@secure()
@description('HMAC key of customers\' inspection approval links (INSPECTION_LINK_SIGNING_KEY); preprovision.sh generates one.')
param inspectionLinkSigningKey string = ''

@secure()
@description('Twilio auth token (TWILIO_AUTH_TOKEN); empty leaves the vault as it is.')
param twilioAuthToken string = ''

@secure()
@description('SMTP relay password (SMTP_PASSWORD); empty leaves the vault as it is.')
param smtpPassword string = ''

@secure()
@description('Anthropic API key for the plan-set vision detector (ANTHROPIC_API_KEY); empty leaves the vault as it is (no key: pages without text are reported as needing vision).')
param anthropicApiKey string = ''

@secure()
@description('Gemini API key for AI colour previews of estimate photos (GEMINI_API_KEY); empty leaves the vault as it is (no key: previews use the local recolouring).')
param geminiApiKey string = ''

@secure()
@description('ElevenLabs API key for voice estimates (ELEVENLABS_API_KEY); empty leaves the vault as it is (no key: the local voice provider).')
param elevenlabsApiKey string = ''

@secure()
@description('Secret ElevenLabs signs post-call webhooks with (ELEVENLABS_WEBHOOK_SECRET); empty leaves the vault as it is.')
param elevenlabsWebhookSecret string = ''

@secure()
@description('Secret header value configured on the ElevenLabs server tools (ELEVENLABS_TOOL_SECRET); empty leaves the vault as it is.')
param elevenlabsToolSecret string = ''

@description('The ElevenLabs agent estimators talk to (ELEVENLABS_AGENT_ID).')
param elevenlabsAgentId string = ''

@secure()
@description('Our ServiceTitan app key (SERVICETITAN_APP_KEY, sent as ST-App-Key); empty leaves the vault as it is.')
param servicetitanAppKey string = ''

@secure()
@description('Key-encryption key of the stored ServiceTitan client secrets (PRICEBOOK_KEY_ENCRYPTION_KEY); preprovision.sh generates one.')
param pricebookKeyEncryptionKey string = ''

@description('Function app instance memory (MB): 512, 2048 or 4096.')
param instanceMemoryMB int = 2048

@description('Most function app instances Flex Consumption may run.')
param maximumInstanceCount int = 40

@description('The longest render expected, in seconds.')
param renderMaxSeconds int = 120

@description('Visibility timeout of a taken render-jobs message (the worker renews it every third); longer than a render.')
param renderVisibilitySeconds int = 300

@description('Longest run of one render job execution, in seconds; longer than the visibility timeout.')
param renderReplicaTimeoutSeconds int = 1800

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  app: 'tradeops'
}

// Names the code uses: queues (blueprints/*/schemas.py, render_container/contract.py) and containers
// (shared/config.py RENDER_*). tests/infra check each one the code names is created here.
var deploymentContainer = 'app-package'
var templatesContainer = 'templates'
var rendersContainer = 'renders'
var renderControlContainer = 'render-control'
var containers = [
  deploymentContainer
  'photos'
  rendersContainer
  templatesContainer
  'documents'
  'uploads'
  renderControlContainer
]
var renderJobsQueue = 'render-jobs'
var renderResultsQueue = 'render-results'
var queues = [
  'password-links'
  'outbound-messages'
  'estimate-notices'
  'estimate-photo-thumbnails'
  'estimate-previews'
  'lead-responses'
  'inbound-from-unknown'
  'estimate-voice-calls'
  renderJobsQueue
  renderResultsQueue
]
var databaseName = 'tradeops'
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-tradeops-${environmentName}'
  location: location
  tags: tags
}

module identities 'modules/identities.bicep' = {
  scope: rg
  name: 'identities'
  params: {
    location: location
    tags: tags
    functionIdentityName: 'id-func-${resourceToken}'
    renderIdentityName: 'id-render-${resourceToken}'
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    workspaceName: 'log-${resourceToken}'
    appInsightsName: 'appi-${resourceToken}'
    functionPrincipalId: identities.outputs.functionPrincipalId
    renderPrincipalId: identities.outputs.renderPrincipalId
  }
}

module storage 'modules/storage.bicep' = {
  scope: rg
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: 'st${resourceToken}'
    containers: containers
    queues: queues
    corsAllowedOrigins: empty(corsAllowedOrigins) ? [] : split(corsAllowedOrigins, ',')
    functionPrincipalId: identities.outputs.functionPrincipalId
    renderPrincipalId: identities.outputs.renderPrincipalId
    renderContainers: [
      templatesContainer
      rendersContainer
      renderControlContainer
    ]
    renderJobsQueue: renderJobsQueue
    renderSendQueues: [
      renderResultsQueue
      '${renderJobsQueue}-poison'
    ]
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module keyVault 'modules/keyvault.bicep' = {
  scope: rg
  name: 'keyvault'
  params: {
    location: location
    tags: tags
    name: 'kv-${resourceToken}'
    jwtSigningKey: jwtSigningKey
    twilioAuthToken: twilioAuthToken
    smtpPassword: smtpPassword
    inspectionLinkSigningKey: inspectionLinkSigningKey
    anthropicApiKey: anthropicApiKey
    geminiApiKey: geminiApiKey
    elevenlabsApiKey: elevenlabsApiKey
    elevenlabsWebhookSecret: elevenlabsWebhookSecret
    elevenlabsToolSecret: elevenlabsToolSecret
    servicetitanAppKey: servicetitanAppKey
    pricebookKeyEncryptionKey: pricebookKeyEncryptionKey
    functionPrincipalId: identities.outputs.functionPrincipalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module postgres 'modules/postgres.bicep' = {
  scope: rg
  name: 'postgres'
  params: {
    location: location
    tags: tags
    name: 'psql-${resourceToken}'
    databaseName: databaseName
    adminPrincipalId: principalId
    adminPrincipalName: principalName
    adminPrincipalType: principalType
  }
}

module registry 'modules/registry.bicep' = {
  scope: rg
  name: 'registry'
  params: {
    location: location
    tags: tags
    name: 'cr${resourceToken}'
    renderPrincipalId: identities.outputs.renderPrincipalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module functionApp 'modules/functionapp.bicep' = {
  scope: rg
  name: 'functionapp'
  params: {
    location: location
    tags: tags
    planName: 'plan-${resourceToken}'
    name: 'func-${resourceToken}'
    identityId: identities.outputs.functionIdentityId
    identityClientId: identities.outputs.functionClientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainer: deploymentContainer
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultUri: keyVault.outputs.uri
    databaseHost: postgres.outputs.host
    databaseName: postgres.outputs.databaseName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    publicBaseUrl: publicBaseUrl
    twilioAccountSid: twilioAccountSid
    twilioVerifyServiceSid: twilioVerifyServiceSid
    smtpHost: smtpHost
    smtpUsername: smtpUsername
    smtpFrom: smtpFrom
    uploadCorsOrigins: corsAllowedOrigins
    elevenlabsAgentId: elevenlabsAgentId
    renderTemplateContainer: templatesContainer
    renderOutputContainer: rendersContainer
    renderControlContainer: renderControlContainer
  }
}

module renderJob 'modules/renderjob.bicep' = {
  scope: rg
  name: 'renderjob'
  params: {
    location: location
    tags: tags
    environmentName: 'cae-${resourceToken}'
    jobName: 'caj-render-${resourceToken}'
    workspaceName: monitoring.outputs.workspaceName
    appInsightsName: monitoring.outputs.appInsightsName
    identityId: identities.outputs.renderIdentityId
    identityClientId: identities.outputs.renderClientId
    registryLoginServer: registry.outputs.loginServer
    storageAccountName: storage.outputs.name
    image: empty(renderImageName) ? placeholderImage : renderImageName
    jobsQueue: renderJobsQueue
    resultsQueue: renderResultsQueue
    controlContainer: renderControlContainer
    visibilitySeconds: renderVisibilitySeconds
    replicaTimeoutSeconds: renderReplicaTimeoutSeconds
  }
}

// azd reads these into its environment; the hooks use them. None is a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URL string = keyVault.outputs.uri
output POSTGRES_SERVER_NAME string = postgres.outputs.name
output POSTGRES_HOST string = postgres.outputs.host
output POSTGRES_DATABASE string = postgres.outputs.databaseName
output APP_IDENTITY_NAME string = identities.outputs.functionIdentityName
output APP_IDENTITY_PRINCIPAL_ID string = identities.outputs.functionPrincipalId
output RENDER_JOB_NAME string = renderJob.outputs.jobName
output RENDER_MAX_SECONDS int = renderMaxSeconds
output SERVICE_API_URI string = 'https://${functionApp.outputs.defaultHostName}'
