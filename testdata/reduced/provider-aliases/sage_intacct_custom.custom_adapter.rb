# Reduced from sdingria/cicd's sage_intacct_custom.custom_adapter.rb (551 KB): only the
# actions the two recipes here use are kept, as empty definitions.
{
  title: 'Sage Intacct (Custom)',
  actions: {
    custom_action: {},
    create_employee: {}
  },
  triggers: {}
}
