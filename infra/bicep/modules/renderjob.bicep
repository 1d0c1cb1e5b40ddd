// The Container Apps environment and the render worker as an event-driven Container Apps Job:
// the KEDA azure-queue scaler starts one execution per waiting message on render-jobs (with the job's
// identity), each execution runs `python -m render_container --once` and drains the queue.

param location string
param tags object
param environmentName string
param jobName string
param workspaceName string
param appInsightsName string
param identityId string
param identityClientId string
param registryLoginServer string
param storageAccountName string
@description('Image to run; azd deploy replaces the placeholder with the built worker image.')
param image string
param jobsQueue string
param resultsQueue string
param controlContainer string
@description('How long a taken message stays invisible (renewed every third by the worker); longer than a render.')
param visibilitySeconds int
@description('How long one execution may run before it is stopped; longer than the visibility timeout.')
param replicaTimeoutSeconds int
param maxExecutions int = 10
param maxDequeueCount int = 5

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' existing = {
  name: workspaceName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        // Read by ARM at deployment and handed to the environment; it is in no setting, parameter or output.
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

resource job 'Microsoft.App/jobs@2025-01-01' = {
  name: jobName
  location: location
  tags: union(tags, {
    'azd-service-name': 'render'
  })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      triggerType: 'Event'
      // tests/infra check replicaTimeoutSeconds > visibilitySeconds > renderMaxSeconds in main.bicep.
      replicaTimeout: replicaTimeoutSeconds
      replicaRetryLimit: 1
      registries: [
        {
          server: registryLoginServer
          identity: identityId
        }
      ]
      eventTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
        scale: {
          minExecutions: 0
          maxExecutions: maxExecutions
          pollingInterval: 15
          rules: [
            {
              name: 'render-jobs'
              type: 'azure-queue'
              identity: identityId
              metadata: {
                accountName: storageAccountName
                queueName: jobsQueue
                queueLength: '1'
              }
            }
          ]
        }
      }
    }
    template: {
      containers: [
        {
          name: 'render'
          image: image
          resources: {
            cpu: json('2.0')
            memory: '4Gi'
          }
          env: [
            {
              name: 'AzureWebJobsStorage__accountName'
              value: storageAccountName
            }
            {
              name: 'AZURE_CLIENT_ID'
              value: identityClientId
            }
            {
              // Not a secret: ingestion is Entra-only (local auth off), the worker signs in as its identity.
              name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
              value: appInsights.properties.ConnectionString
            }
            {
              name: 'RENDER_JOBS_QUEUE'
              value: jobsQueue
            }
            {
              name: 'RENDER_RESULTS_QUEUE'
              value: resultsQueue
            }
            {
              name: 'RENDER_CONTROL_CONTAINER'
              value: controlContainer
            }
            {
              name: 'RENDER_VISIBILITY_SECONDS'
              value: string(visibilitySeconds)
            }
            {
              name: 'RENDER_MAX_DEQUEUE_COUNT'
              value: string(maxDequeueCount)
            }
          ]
        }
      ]
    }
  }
}

output environmentName string = environment.name
output jobName string = job.name
