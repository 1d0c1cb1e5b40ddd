// User-assigned identities: one for the function app, one for the render job.
// Each service signs in to Storage, Key Vault, PostgreSQL, Application Insights and the registry as itself.

param location string
param tags object
param functionIdentityName string
param renderIdentityName string

resource functionIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: functionIdentityName
  location: location
  tags: tags
}

resource renderIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: renderIdentityName
  location: location
  tags: tags
}

output functionIdentityId string = functionIdentity.id
output functionIdentityName string = functionIdentity.name
output functionClientId string = functionIdentity.properties.clientId
output functionPrincipalId string = functionIdentity.properties.principalId
output renderIdentityId string = renderIdentity.id
output renderClientId string = renderIdentity.properties.clientId
output renderPrincipalId string = renderIdentity.properties.principalId
