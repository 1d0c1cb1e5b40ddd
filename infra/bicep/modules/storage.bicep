// The one storage account: the Functions host (triggers, Durable Functions task hub), the app's
// queues and their -poison queues, blob containers, and the Flex Consumption deployment package.
// No shared key: every client signs in with Microsoft Entra ID (managed identity or the deployer).

param location string
param tags object
param name string
@description('Blob containers to create (deployment package, uploads, renders, templates, documents, render control).')
param containers array
@description('Queues to create; each also gets its -poison queue.')
param queues array
@description('Origins of the PWA allowed to PUT uploads and GET blobs with a SAS URL (CORS).')
param corsAllowedOrigins array
param functionPrincipalId string
param renderPrincipalId string
@description('Containers the render job reads and writes.')
param renderContainers array
@description('Queue the render job takes jobs from.')
param renderJobsQueue string
@description('Queues the render job writes to (results, its poison queue).')
param renderSendQueues array
param deployerPrincipalId string
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

var blobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var queueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var queueDataMessageProcessor = '8a0f0c08-91a1-4084-bc3d-661d67233fed'
var queueDataMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
var queueDataReader = '19e7f33d-0c4c-4cc7-a7c2-91c5d1a4fcb2'
var tableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

var corsRule = {
  allowedOrigins: corsAllowedOrigins
  allowedMethods: [
    'GET'
    'HEAD'
    'PUT'
    'OPTIONS'
  ]
  allowedHeaders: [
    'content-type'
    'x-ms-blob-type'
    'x-ms-blob-content-type'
    'x-ms-version'
  ]
  exposedHeaders: [
    'etag'
    'x-ms-request-id'
  ]
  maxAgeInSeconds: 3600
}

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  //checkov:skip=CKV_AZURE_35:Default action Allow: the function app (no VNet), the render job and the PWA's browsers (SAS uploads) reach it over the internet; shared keys and anonymous access are off, so every request needs Entra ID or a user delegation SAS.
  //checkov:skip=CKV_AZURE_59:Public network access for the same reason; allowBlobPublicAccess is false, so no blob is anonymous.
  //checkov:skip=CKV_AZURE_206:LRS in one region is the cost target; blob soft delete covers mistakes, and renders and documents can be regenerated.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    isSftpEnabled: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    cors: {
      corsRules: empty(corsAllowedOrigins) ? [] : [corsRule]
    }
  }
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = [
  for container in containers: {
    parent: blobService
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource storageQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = [
  for queue in queues: {
    parent: queueService
    name: queue
  }
]

// Where the Functions host (maxDequeueCount 5) and the render worker move messages that never succeed.
resource poisonQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = [
  for queue in queues: {
    parent: queueService
    name: '${queue}-poison'
  }
]

// The function app: host storage, Durable Functions task hub (blobs, queues, tables), app queues and blobs,
// user delegation keys for the SAS URLs it hands out.
resource functionBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, functionPrincipalId, blobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataOwner)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource functionQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, functionPrincipalId, queueDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataContributor)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource functionTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, functionPrincipalId, tableDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributor)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The render job: its containers only, and its queues only.
resource renderContainerScopes 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = [
  for container in renderContainers: {
    parent: blobService
    name: container
  }
]

resource renderBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in renderContainers: {
    name: guid(renderContainerScopes[i].id, renderPrincipalId, blobDataContributor)
    scope: renderContainerScopes[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
      principalId: renderPrincipalId
      principalType: 'ServicePrincipal'
    }
    dependsOn: [
      blobContainers
    ]
  }
]

resource renderJobsQueueScope 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' existing = {
  parent: queueService
  name: renderJobsQueue
}

resource renderTakesJobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(renderJobsQueueScope.id, renderPrincipalId, queueDataMessageProcessor)
  scope: renderJobsQueueScope
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataMessageProcessor)
    principalId: renderPrincipalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [
    storageQueues
  ]
}

// The KEDA azure-queue scaler reads the queue's length with the job's identity.
resource scalerReadsJobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(renderJobsQueueScope.id, renderPrincipalId, queueDataReader)
  scope: renderJobsQueueScope
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataReader)
    principalId: renderPrincipalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [
    storageQueues
  ]
}

resource renderSendQueueScopes 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' existing = [
  for queue in renderSendQueues: {
    parent: queueService
    name: queue
  }
]

resource renderSends 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (queue, i) in renderSendQueues: {
    name: guid(renderSendQueueScopes[i].id, renderPrincipalId, queueDataMessageSender)
    scope: renderSendQueueScopes[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataMessageSender)
      principalId: renderPrincipalId
      principalType: 'ServicePrincipal'
    }
    dependsOn: [
      storageQueues
      poisonQueues
    ]
  }
]

// The deployer publishes render templates (render_container.templates.upload) with their own sign-in.
resource deployerBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(account.id, deployerPrincipalId, blobDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
