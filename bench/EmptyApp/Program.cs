// The empty app bench/run.sh measures the panel against: the host, Kestrel and one route, nothing else.
var app = WebApplication.CreateBuilder(args).Build();
app.MapGet("/healthz", () => "ok");
app.Run();
