/*
** sch_names.c: names of well-known providers by GUID, so ev.provider has a
** name even when no schema describes the event: the kernel logger's event
** classes (all MSNT_SystemTrace, as TDH names them), the Windows kernel and
** .NET runtime manifest providers, and other common ones.
*/
#include <string.h>

#include "../tlg/tlg_guid.h"
#include "schema.h"

typedef struct pname {
  const char *guid, *name;
} pname;

static const pname names[] = {
  /* kernel logger event classes (group GUIDs, etl_kernel.c) and Lost_Event */
  {"9e814aad-3204-11d2-9a82-006008a86939", "MSNT_SystemTrace"},
  {"68fdd900-4a3e-11d1-84f4-0000f80464e3", "MSNT_SystemTrace"},
  {"3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c", "MSNT_SystemTrace"},
  {"3d6fa8d3-fe05-11d0-9dda-00c04fd7ba7c", "MSNT_SystemTrace"},
  {"3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c", "MSNT_SystemTrace"},
  {"90cbdc39-4a3e-11d1-84f4-0000f80464e3", "MSNT_SystemTrace"},
  {"3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c", "MSNT_SystemTrace"},
  {"9a280ac0-c8e0-11d1-84e2-00c04fb998a2", "MSNT_SystemTrace"},
  {"3282fc76-feed-498e-8aa7-e70f459d430e", "MSNT_SystemTrace"},
  {"bf3a50c5-a9c9-4988-a005-2df0b7c80f80", "MSNT_SystemTrace"},
  {"ae53722e-c863-11d2-8659-00c04fa321a1", "MSNT_SystemTrace"},
  {"13976d09-a327-438c-950b-7f03192815c7", "MSNT_SystemTrace"},
  {"01853a65-418f-4f36-aefc-dc0f1d2fd235", "MSNT_SystemTrace"},
  {"42695762-ea50-497a-9068-5cbbb35e0b95", "MSNT_SystemTrace"},
  {"0268a8b6-74fd-4302-9dd0-6e8f1795c0cf", "MSNT_SystemTrace"},
  {"ce1dbfb4-137e-4da6-87b0-3f59aa102cbc", "MSNT_SystemTrace"},
  {"222962ab-6180-4b88-a825-346b75f2a24a", "MSNT_SystemTrace"},
  {"89497f50-effe-4440-8cf2-ce6b1cdcaca7", "MSNT_SystemTrace"},
  {"e43445e0-0903-48c3-b878-ff0fccebdd04", "MSNT_SystemTrace"},
  {"a9152f00-3f58-4bee-92a1-70c7d079d5dd", "MSNT_SystemTrace"},
  {"2cb15d1d-5fc1-11d2-abe1-00a0c911f518", "MSNT_SystemTrace"},
  {"b2d14872-7c5b-463d-8419-ee9bf7d23e04", "MSNT_SystemTrace"},
  {"7687a439-f752-45b8-b741-321aec0f8df9", "MSNT_SystemTrace"},
  {"3ac66736-cc59-4cff-8115-8df50e39816b", "MSNT_SystemTrace"},
  {"def2fe46-7bd6-4b80-bd94-f57fe20d0ce3", "MSNT_SystemTrace"},
  {"9aec974b-5b8e-4118-9b92-3186d8002ce5", "MSNT_SystemTrace"},
  {"45d8cccd-539f-4b72-a8b7-5c683142609a", "MSNT_SystemTrace"},
  {"d837ca92-12b9-44a5-ad6a-3a65b3578aa8", "MSNT_SystemTrace"},
  {"c861d0e2-a2c1-4d36-9f9c-970bab943a12", "MSNT_SystemTrace"},
  {"6a399ae0-4bc6-4de9-870b-3657f8947e7e", "MSNT_SystemTrace"},
  {"9b79ee91-b5fd-41c0-a243-4248e266e9d0", "MSNT_SystemTrace"},
  /* kernel manifest providers */
  {"22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716", "Microsoft-Windows-Kernel-Process"},
  {"edd08927-9cc4-4e65-b970-c2560fb5c289", "Microsoft-Windows-Kernel-File"},
  {"7dd42a49-5329-4832-8dfd-43d979153a88", "Microsoft-Windows-Kernel-Network"},
  {"70eb4f03-c1de-4f73-a051-33d13d5413bd", "Microsoft-Windows-Kernel-Registry"},
  {"c7bde69a-e1e0-4177-b6ef-283ad1525271", "Microsoft-Windows-Kernel-Disk"},
  {"331c3b3a-2005-44c2-ac5e-77220c37d6b4", "Microsoft-Windows-Kernel-Power"},
  {"a68ca8b7-004f-d7b6-a698-07e2de0f1f5d", "Microsoft-Windows-Kernel-General"},
  {"d1d93ef7-e1f2-4f45-9943-03d245fe6c00", "Microsoft-Windows-Kernel-Memory"},
  {"15ca44ff-4d7a-4baa-bba5-0998955e531e", "Microsoft-Windows-Kernel-Boot"},
  {"b675ec37-bdb6-4648-bc92-f3fdc74d3ca2", "Microsoft-Windows-Kernel-EventTracing"},
  {"9c205a39-1250-487d-abd7-e831c6290539", "Microsoft-Windows-Kernel-PnP"},
  {"0f67e49f-fe51-4e9f-b490-6f2948cc6027", "Microsoft-Windows-Kernel-Processor-Power"},
  {"c514638f-7723-485b-bcfc-96565d735d4a", "Microsoft-Windows-Kernel-Acpi"},
  {"e02a841c-75a3-4fa7-afc8-ae09cf9b7f23", "Microsoft-Windows-Kernel-Audit-API-Calls"},
  {"b3e675d7-2554-4f18-830b-2762732560de", "KernelTraceControl"},
  /* .NET */
  {"e13c0d23-ccbc-4e12-931b-d9cc2eee27e4", "Microsoft-Windows-DotNETRuntime"},
  {"a669021c-c450-4609-a035-5af59af4df18", "Microsoft-Windows-DotNETRuntimeRundown"},
  {"763fd754-7086-4dfe-95eb-c01a46faf4ca", "Microsoft-Windows-DotNETRuntimePrivate"},
  {"cc2bcbba-16b6-4cf3-8990-d74c2e8af500", "Microsoft-Windows-DotNETRuntimeStress"},
  {"2e5dba47-a3d2-4d16-8ee0-6671ffdcd7b5", "System.Threading.Tasks.TplEventSource"},
  /* others often seen */
  {"dd5ef90a-6398-47a4-ad34-4dcecdef795f", "Microsoft-Windows-HttpService"},
  {"2f07e2ee-15db-40f1-90ef-9d7ba282188a", "Microsoft-Windows-TCPIP"},
  {"1c95126e-7eea-49a9-a3fe-a378b03ddb4d", "Microsoft-Windows-DNS-Client"},
  {"43d1a55c-76d6-4f7e-995c-64c711e5cafe", "Microsoft-Windows-WinINet"},
  {"a0c1853b-5c40-4b15-8766-3cf1c58f985a", "Microsoft-Windows-PowerShell"},
  {"54849625-5478-4994-a5ba-3e3b0328c30d", "Microsoft-Windows-Security-Auditing"},
  {"5770385f-c22a-43e0-bf4c-06f5698ffbd9", "Microsoft-Windows-Sysmon"},
  {"f4e1897c-bb5d-5668-f1d8-040f4d8dd344", "Microsoft-Windows-Threat-Intelligence"},
  {"8c416c79-d49b-4f01-a467-e56d3aa8234c", "Microsoft-Windows-Win32k"},
  {"802ec45a-1e99-4b83-9920-87c98277ba9d", "Microsoft-Windows-DxgKrnl"},
  {"6ad52b32-d609-4be9-ae07-ce8dae937e39", "Microsoft-Windows-RPC"},
};

const char *schema_provider_name(const uint8_t guid[16]) {
  tlg_guid g;
  char text[TLG_GUID_TEXT];
  memcpy(g.b, guid, 16);
  tlg_guid_format(&g, text);
  const char *t = text;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (memcmp(names[i].guid, t, 36) == 0) return names[i].name;
  return NULL;
}
