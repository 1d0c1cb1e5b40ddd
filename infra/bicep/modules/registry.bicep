// Container Registry for the render worker image. No admin user: the job pulls with its identity
// (AcrPull), the deployer pushes with their own sign-in (AcrPush).

param location string
param tags object
param name string
param renderPrincipalId string
param deployerPrincipalId string
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'
var acrPush = '8311e382-0749-4cb8-b61a-304f252e45ec'

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  //checkov:skip=CKV_AZURE_139:Public endpoint: private endpoints need the Premium tier and a VNet; pulls and pushes need Entra sign-in (admin user and anonymous pull are off).
  //checkov:skip=CKV_AZURE_163:Vulnerability scanning is Microsoft Defender for Containers, a subscription-level plan, not a registry property; enable it there.
  //checkov:skip=CKV_AZURE_166:Quarantine needs the Premium tier; one image, built from this repository by azd, is pushed by the deployer only (AcrPush).
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

resource renderPulls 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, renderPrincipalId, acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: renderPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource deployerPushes 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(registry.id, deployerPrincipalId, acrPush)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPush)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
