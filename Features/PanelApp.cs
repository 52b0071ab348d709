using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.Features;
using Quartz;
using VpsPanel.Features.Api;
using VpsPanel.Features.Assets;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Backups;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Dashboard;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Domains;
using VpsPanel.Features.Git;
using VpsPanel.Features.Health;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Setup;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features;

/// <summary>Builds the web app: services, middleware and the route table, read top to bottom.</summary>
public static class PanelApp
{
    public static WebApplication Build(string[] args)
    {
        var config = PanelSettings.BuildConfiguration(args);
        var settings = PanelSettings.Load(config);
        // Before the migrations: a second panel (or a restore in progress) on the same data dir must not touch it.
        DataDirCheck.ForPanel(settings);
        var dataDirLock = DataDirLock.AcquireForPanel(settings.DataDir);
        try
        {
            Db.Prepare(settings);
            // Checked here, not when the first site is written: the startup regeneration in DeployWorker used to throw
            // on an unwritable sites dir, which stopped the host with exit status 0 (systemd never restarted it).
            DataDirCheck.Writable(settings.CaddySitesDir, "Caddy:SitesDir", ExitCodes.SitesDir, create: true);
        }
        catch { dataDirLock.Dispose(); throw; }
        // Before anything runs a child: marks them as this panel's, so the next start can find them (Shared/ProcGroups).
        ProcGroups.MarkChildrenOf(settings.DataDir);
        Audit.AuditPruneJob.PruneAtStartup(settings);

        // reloadConfigOnChange off: the host's own appsettings.json source otherwise watches the content root (the
        // binary's folder) and everything under it, and a data dir under that folder (./data next to the binary, as
        // in bench/) made every SQLite write an inotify event for a thread to read: 4% of a webhook push's samples
        // (issue 20). Nothing reloads anyway: the settings are read once (PanelSettings.Load, from `config`).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [.. args, "--hostBuilder:reloadConfigOnChange=false"], ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddConfiguration(config);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-dd HH:mm:ss "; });
        // Framework chatter stays out of the operator's log unless it is a warning; the panel's own lines stay in.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        builder.Logging.AddFilter("Quartz", LogLevel.Warning);
        // The host logs a failed start or a failed background service with its whole stack trace; Program.cs reports
        // those as one line naming the cause (and exits non-zero), so the host's copy would only bury that line.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 8 * 1024 * 1024;
        });
        builder.Services.Configure<FormOptions>(o => { o.ValueLengthLimit = 64 * 1024; o.ValueCountLimit = 200; });

        var s = builder.Services;
        s.AddSingleton(settings);
        // Registered by factory so the container disposes it (releasing the lock) when the app is disposed.
        s.AddSingleton(_ => dataDirLock);
        s.AddSingleton<Db>();
        s.AddSingleton<SetupToken>();
        s.AddSingleton<LoginThrottle>();
        s.AddSingleton(new DockerEngine(settings.DockerSocket));
        s.AddSingleton(new CaddyAdmin(settings.CaddyAdminAddress));
        s.AddSingleton<SystemStatus>();
        s.AddSingleton(GitHosts.From(settings));
        s.AddSingleton(sp => new GitCli(settings.DataDir, sp.GetRequiredService<GitHosts>()));
        s.AddSingleton<CaddySite>();
        s.AddSingleton<DomainSites>();
        s.AddSingleton<DeployLog>();
        s.AddSingleton<DeployRun>();
        s.AddSingleton<ReplicaSet>();
        s.AddSingleton<Cluster.ClusterDeploy>();
        s.AddSingleton<Cluster.ClusterRoutes>();
        s.AddSingleton<DeployWorker>();
        s.AddSingleton<Webhooks.WebhookEndpoint.Writer>();
        s.AddSingleton<LiveState>();
        s.AddSingleton<Data.ReadCache>();
        s.AddSingleton<LiveReconciler>();
        s.AddSingleton<Running.SelfHealing>();
        s.AddSingleton<Running.AppPower>();
        s.AddSingleton<SwitchRecovery>();
        s.AddSingleton<Projects.ProjectChanges>();
        s.AddSingleton<Terminal.TerminalSessions>();
        s.AddSingleton<Hygiene.DiskCleanup>();
        s.AddHostedService(sp => sp.GetRequiredService<DeployWorker>());
        s.AddHostedService(sp => sp.GetRequiredService<LiveReconciler>());
        s.AddHostedService(sp => sp.GetRequiredService<Cluster.ClusterRoutes>());
        s.AddHostedService<Notifications.NotifyWorker>();
        s.AddHostedService<Previews.PreviewSweep>();
        s.AddHostedService<Metrics.MetricsSampler>();
        s.AddHostedService<Running.HealthWatch>();
        s.AddSingleton<Upgrades.UpgradeChecker>();
        s.AddHostedService(sp => sp.GetRequiredService<Upgrades.UpgradeChecker>());
        // Scheduled jobs: one AddQuartz for the whole panel, each job schedules itself from its settings.
        s.AddQuartz(q =>
        {
            BackupJob.Schedule(q, settings);
            Services.DumpJob.Schedule(q);
            Audit.AuditPruneJob.Schedule(q, settings);
            Hygiene.DiskCleanupJob.Schedule(q, settings);
        });
        // Started behind the start gate (Shared/StartGate), not by Quartz's own hosted service.
        s.AddHostedService<StartGate.QuartzStart>();

        var keysDir = Directory.CreateDirectory(Path.Combine(settings.DataDir, "keys"));
        File.SetUnixFileMode(keysDir.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        s.AddDataProtection().SetApplicationName("vpspanel").PersistKeysToFileSystem(keysDir);
        s.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(AuthCookie.ConfigureCookie)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, BearerAuth>(BearerAuth.SchemeName, null);
        AuthCookie.KeepReadTickets(s);
        s.AddProblemDetails();
        Webhooks.WebhookEndpoint.AddRateLimit(s, settings);
        s.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info = new() { Title = "VpsPanel API", Version = "v1", Description = "Send `Authorization: Bearer <token>`; errors are application/problem+json." };
            // The generator fills servers from the request's Host header (client-chosen): Panel:PublicUrl, else none
            // (a client then resolves the paths against the document's own URL).
            doc.Servers = settings.PublicUrl != "" ? [new() { Url = settings.PublicUrl }] : [];
            return Task.CompletedTask;
        }));
        s.AddAuthorizationBuilder()
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(AuthCookie.AdminPolicy, p => p.RequireRole(Users.Roles.Admin));
        s.AddAntiforgery(o =>
        {
            o.HeaderName = "RequestVerificationToken";
            o.Cookie.Name = Shared.KeptPage.AntiforgeryCookie;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        AddPages(s);
        // AddDataProtection also registers a hosted service that only reads the key ring (XML) at start, before the
        // port opens: ~80 KB of XML-reader code compiled up front (issue 20, measurement 5). Without it the ring is
        // read after the first answer (Shared/StartGate.KeyRingLoad), or by a request that needs a key first. Removed
        // here, after every registration: AddAuthentication and AddAntiforgery call AddDataProtection again, and its
        // TryAddEnumerable put the service back when it was removed any earlier (it was, until issue 20's next look).
        foreach (var d in s.Where(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Name == "DataProtectionHostedService").ToList())
            s.Remove(d);
        s.AddHostedService<StartGate.KeyRingLoad>();

        var app = builder.Build();
        app.Services.GetRequiredService<DataDirLock>();
        app.Services.GetRequiredService<SetupToken>().CreateIfNoUser();
        Projects.DeployKey.MoveKeyFilesIntoDatabase(app.Services.GetRequiredService<Db>(), app.Services.GetRequiredService<IDataProtectionProvider>(),
            app.Services.GetRequiredService<GitCli>(), app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("VpsPanel.DeployKey"));

        // First: the first answer lets the start-up housekeeping begin (Shared/StartGate).
        StartGate.Use(app);
        // Requests mark the panel used, so that memory touched by page views alone is given back once they stop (Shared/RuntimeKnobs.TrimWhenIdle).
        app.Use((ctx, next) =>
        {
            Shared.RuntimeKnobs.MarkRequest();
            return next(ctx);
        });

        // Caddy (on this host) terminates TLS and proxies to the panel: trust its X-Forwarded-* only from the
        // configured proxy addresses (Panel:TrustedProxies), so the auth cookie becomes Secure over HTTPS and rate
        // limits see the client's address, not Caddy's, while no other client can choose its own address.
        app.UseForwardedHeaders(TrustedProxies.ForwardedHeadersOptions(settings));
        Shared.SecurityHeaders.Use(app);
        // One error page for everything; it answers problem+json instead of HTML when the request was for /api.
        app.UseExceptionHandler("/error");
        app.UseStatusCodePagesWithReExecute("/error", "?code={0}");
        app.UseAuthentication();
        // A user who must still set up two-factor sign-in (an admin requires it) gets only the enrolment page.
        app.Use(TwoFactor.SendToEnrolment);
        app.UseAuthorization();
        app.UseAntiforgery();
        app.UseRateLimiter();
        // The web terminal's socket (Terminal/TerminalSocket); pings keep idle proxies from dropping an open shell.
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });

        // The route table. Razor pages (one file per action) map themselves from their @page lines.
        EmbeddedAssets.Map(app);
        Hygiene.Favicon.Map(app);
        Healthz.Map(app);
        var api = ApiRoutes.Map(app);
        Projects.ProjectApi.Map(api);
        Projects.EnvironmentApi.Map(api);
        Previews.PreviewApi.Map(api);
        Running.RunningApi.Map(api);
        Webhooks.WebhookApi.Map(api);
        DeploymentApi.Map(api);
        DomainApi.Map(api);
        Audit.AuditApi.Map(api);
        Services.ServiceApi.Map(api);
        Services.ServiceDumpApi.Map(api);
        Volumes.VolumeApi.Map(api);
        Hygiene.DiskApi.Map(api);
        Hygiene.PinnedDeployments.Map(api);
        Notifications.NotifyApi.Map(api);
        Notifications.NotifyProjectApi.Map(api);
        Settings.SettingsApi.Map(api);
        Servers.ServerApi.Map(app, api);
        Upgrades.UpgradeCheckApi.Map(api);
        Metrics.MetricsEndpoints.Map(app, api);
        CaddyAsk.Map(app);
        DeploymentLogEndpoints.Map(app);
        Webhooks.WebhookEndpoint.Map(app);
        Terminal.TerminalSocket.Map(app);
        app.MapRazorPages();
        return app;
    }

    /// <summary>
    /// Starts the host. A listen address that is malformed or cannot be bound stops startup with one line naming
    /// --urls/ASPNETCORE_URLS (Kestrel's own exceptions say neither, and came with a stack trace and exit 134).
    /// </summary>
    public static async Task StartAsync(WebApplication app)
    {
        var urls = app.Configuration["urls"] is { Length: > 0 } u ? u : "http://localhost:5000";
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string? problem;
            try
            {
                var a = Microsoft.AspNetCore.Http.BindingAddress.Parse(url);
                // Kestrel's parser is lenient: "http://127.0.0.1:notaport" became host "127.0.0.1:notaport" and the
                // panel listened on *:80. So a TCP address must also be a plain http(s) URL with a numeric port and no path
                // (the wildcards * and + stand for "any address").
                var probe = url.Replace("://*", "://any.invalid", StringComparison.Ordinal).Replace("://+", "://any.invalid", StringComparison.Ordinal);
                problem = a.IsUnixPipe ? null
                    : !Uri.TryCreate(probe, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") ? "it is not an http(s) URL with a host and a port"
                    : uri.AbsolutePath != "/" || uri.Query != "" ? "it has a path; give only scheme, host and port"
                    : null;
            }
            catch (FormatException e) { problem = e.Message; }
            if (problem is not null)
                throw new StartupException($"the listen address \"{url}\" (--urls / ASPNETCORE_URLS) is not valid: {problem} " +
                    "(expected e.g. http://127.0.0.1:8080)", ExitCodes.BadSetting);
        }
        try { await app.StartAsync(); }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            throw new StartupException($"cannot listen on {urls} (--urls / ASPNETCORE_URLS): the address is already in use by another program; " +
                "stop it or choose another address", ExitCodes.Listen);
        }
        catch (IOException e) when (e.Message.StartsWith("Failed to bind", StringComparison.Ordinal))
        {
            throw new StartupException($"cannot listen on {urls} (--urls / ASPNETCORE_URLS): {e.InnerException?.Message ?? e.Message}", ExitCodes.Listen);
        }
    }

    /// <summary>The background service whose failure stopped the host, with its message; null after an ordinary stop.</summary>
    public static string? FailedPart(WebApplication app) =>
        app.Services.GetServices<IHostedService>().OfType<BackgroundService>()
            .Where(b => b.ExecuteTask is { IsFaulted: true })
            .Select(b => $"{b.GetType().Name} failed: {b.ExecuteTask!.Exception!.GetBaseException().Message.ReplaceLineEndings(" ")}")
            .FirstOrDefault();

    // AddRazorPages is marked "not trim-safe" because MVC finds page models, handlers and bound properties by
    // reflection. Those all live in this assembly, which the trimmer never trims (TrimmerRootAssembly in the csproj),
    // and the MVC switch it needs is set there too (MvcEnhancedModelMetadataSupport). The tests run the trimmed binary.
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Page models are in the untrimmed app assembly; see VpsPanel.csproj.")]
    static void AddPages(IServiceCollection s) =>
        s.AddRazorPages(o =>
        {
            o.RootDirectory = "/Features";
            o.Conventions.AuthorizeFolder("/Users", AuthCookie.AdminPolicy);
            o.Conventions.ConfigureFilter(new Shared.UnhandledPageMethod());
        });
}
