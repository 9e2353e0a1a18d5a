"""KoboToolbox's REST services ("hooks"): a form's endpoints (:mod:`.config`), the sealed secrets
(:mod:`.sealing`), the endpoint's address rules (:mod:`.addresses`) and the deliveries of processed
interviews with their retries and logs (:mod:`.delivery`). See docs/adr/0017."""
