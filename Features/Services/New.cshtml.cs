using System.Globalization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>/services/new: create a service owned by the signed-in user (see <see cref="CreateService"/>).</summary>
public sealed class NewModel(Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings) : PageModel
{
    public sealed record FormValues(string Engine = "postgres", string Name = "", string Version = "", string MemoryMb = "", string PublicPort = "");

    public FormValues Form { get; private set; } = new();
    public Dictionary<string, string> Errors { get; private set; } = [];
    public Dictionary<string, string> DefaultVersions => ServiceEngines.All.ToDictionary(e => e.Id, e => ServiceEngines.DefaultVersion(settings, e));

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        string F(string k) => Request.Form[k].ToString().Trim();
        Form = new FormValues(F("engine"), F("name"), F("version"), F("memoryMb"), F("publicPort"));
        long? memory = null;
        int? port = null;
        if (Form.MemoryMb != "")
        {
            if (long.TryParse(Form.MemoryMb, NumberStyles.None, CultureInfo.InvariantCulture, out var m)) memory = m;
            else Errors["memoryMb"] = "the memory limit must be a whole number of MiB";
        }
        if (Form.PublicPort != "")
        {
            if (int.TryParse(Form.PublicPort, NumberStyles.None, CultureInfo.InvariantCulture, out var p)) port = p;
            else Errors["publicPort"] = "the public port must be a whole number from 1024 to 65535, or empty";
        }
        if (Errors.Count == 0)
        {
            var (created, errors) = await CreateService.RunAsync(db, engine, protection, settings,
                new CreateService.Input(Form.Engine, Form.Name, Form.Version, memory, port), User.UserId(), ct);
            Errors = errors;
            if (created is not null)
            {
                Audit.AuditLog.Record(HttpContext, "service.create", created.Name, $"{created.Engine} {created.Version}, {created.MemoryMb} MiB" + (created.PublicPort is { } pp ? $", public port {pp}" : ""));
                return Shared.PostRedirect.To(HttpContext, $"/services/{created.Name}");
            }
        }
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }
}
