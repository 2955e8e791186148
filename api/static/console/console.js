// invaplan dispatcher console: vehicles, their routes and next stops on a map; unserved, late and at-risk trips;
// booking through offers; cancel and re-book. All data comes from /v1 with the signed-in key (sessionStorage,
// Bearer header). No inline code (the page's CSP forbids it); every text from the server goes in as textContent.
"use strict";

(() => {
  const KEY_STORE = "invaplan.console.key";
  const POLL_MS = 2000; // without the event stream: plan-version check (cheap); lists and map refetched when it changes
  const FULL_REFRESH_MS = 15000; // without the event stream: refetch anyway, in case a change was missed
  const CLOCK_MS = 10000; // the server clock shown is refreshed this often
  const STREAM_REFRESH_MS = 60000; // with the event stream: refetch anyway this often (a write by another process)
  const STREAM_RETRY_MS = 5000; // a failed event stream: poll meanwhile and try the stream again this much later
  const STREAM_MIN_MS = 1000; // a stream that ends sooner than this counts as failed (no reconnect storm)
  const AT_RISK_SLACK_MIN = 5; // a pickup predicted less than 5 minutes before the end of its window is at risk
  const PAGE = 1000; // trips per /v1/trips page (the API's maximum)
  const ALMATY = [43.24, 76.93];
  const ACTIVE = new Set(["assigned", "en_route"]); // trips still to be picked up (assigned = scheduled)
  const OPERATOR_COLOUR = {"INCLUSION.KZ": "#1f77b4", "SPO-GROUP": "#2ca02c", "АМАЛЬ-ИМАН": "#9467bd",
    "Ден.Зор.Байлык": "#e6550d"}; // as the planners' dispatch map (maps/dispatch_map.py)

  const $ = (id) => document.getElementById(id);
  const state = {key: sessionStorage.getItem(KEY_STORE), me: null, day: null, version: null, lastFull: 0,
    vehicles: [], trips: [], selected: null, picking: "pickup", replacing: null, timer: null, clockTimer: null,
    stream: null, busy: false, again: false};

  // ------------------------------------------------------------------ helpers
  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function button(label, onClick) {
    const node = el("button", label);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }
  function hhmm(iso) { return iso ? String(iso).slice(11, 16) : "–"; }
  function almatyToday() {
    return new Intl.DateTimeFormat("en-CA", {timeZone: "Asia/Almaty"}).format(new Date());
  }

  async function api(method, path, body) {
    const headers = {"Authorization": "Bearer " + state.key};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {method, headers, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body)});
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    if (response.status === 401) signOut("The key was refused (missing, invalid or revoked).");
    return {status: response.status, ok: response.ok, data};
  }
  function detail(answer) {
    const d = answer.data && answer.data.detail;
    return typeof d === "string" ? d : "HTTP " + answer.status;
  }

  // ------------------------------------------------------------------ map
  const map = L.map("map", {zoomControl: true}).setView(ALMATY, 12);
  window.consoleMap = map; // for the browser tests (and the curious)
  const blank = L.layerGroup().addTo(map);
  const osm = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    {maxZoom: 19, attribution: "© OpenStreetMap contributors"});
  L.control.layers({"Blank (offline)": blank, "OpenStreetMap (needs internet)": osm}).addTo(map);
  L.control.scale().addTo(map);
  const districtLayer = L.layerGroup().addTo(map);
  const vehicleLayer = L.layerGroup().addTo(map);
  const selectedLayer = L.layerGroup().addTo(map);
  const pinLayer = L.layerGroup().addTo(map);
  const vehicleMarkers = new Map();

  function icon(cls, label, size, data) {
    const span = document.createElement("span");
    if (label !== undefined) span.textContent = String(label);
    Object.entries(data || {}).forEach(([k, v]) => { span.dataset[k] = v; });
    return L.divIcon({className: cls, html: span, iconSize: [size, size]});
  }

  function routeCoords(vehicle) { // [[lon, lat], ...]: from the position (or last done stop) through the pending stops
    if (Array.isArray(vehicle.path)) return vehicle.path;
    const features = (vehicle.route && vehicle.route.features) || [];
    return features.filter((f) => f.geometry.type === "Point").map((f) => f.geometry.coordinates);
  }

  function vehiclePopup(vehicle) {
    const box = el("div");
    box.appendChild(el("strong", vehicle.vehicle_id + " · " + vehicle.operator));
    box.appendChild(el("div", (vehicle.status || "in_service").replace(/_/g, " ")
      + (vehicle.position ? " · seen " + hhmm(vehicle.position.at) : " · no position yet")));
    const list = el("ol");
    (vehicle.next_stops || []).forEach((s) => list.appendChild(
      el("li", `${hhmm(s.eta)} ${s.kind === "pickup" ? "pick-up" : "drop-off"} ${s.trip_id}`)));
    box.appendChild(list);
    return box;
  }

  function drawVehicles() {
    vehicleLayer.clearLayers();
    vehicleMarkers.clear();
    state.vehicles.forEach((vehicle) => {
      const colour = OPERATOR_COLOUR[vehicle.operator] || "#37474f";
      const coords = routeCoords(vehicle);
      if (coords.length > 1) {
        L.polyline(coords.map(([lon, lat]) => [lat, lon]), {color: colour, weight: 3, opacity: 0.7})
          .addTo(vehicleLayer);
      }
      (vehicle.next_stops || []).forEach((s, k) => {
        if (s.lon === undefined || s.lat === undefined) return;
        L.marker([s.lat, s.lon], {icon: icon("stop-icon " + s.kind, k + 1, 18, {trip: s.trip_id, kind: s.kind}),
          title: `${vehicle.vehicle_id}: ${s.kind} ${s.trip_id} ${hhmm(s.eta)}`}).addTo(vehicleLayer);
      });
      if (!vehicle.position) return;
      const selected = vehicle.vehicle_id === state.selected;
      const marker = L.marker([vehicle.position.lat, vehicle.position.lon], {zIndexOffset: 1000,
        icon: icon(`vehicle-icon ${vehicle.status || ""}${selected ? " selected" : ""}`, undefined, 16,
          {vehicle: vehicle.vehicle_id}), title: vehicle.vehicle_id});
      marker.bindPopup(() => vehiclePopup(vehicle));
      marker.on("click", () => selectVehicle(vehicle.vehicle_id));
      marker.addTo(vehicleLayer);
      vehicleMarkers.set(vehicle.vehicle_id, marker);
    });
  }

  async function drawSelected() { // the selected vehicle's whole manifest, stops numbered in driving order
    selectedLayer.clearLayers();
    if (!state.selected) return;
    const answer = await api("GET", `/v1/vehicles/${encodeURIComponent(state.selected)}/manifest?date=${state.day}`);
    if (!answer.ok || !answer.data) return;
    const stops = answer.data.stops || [];
    if (stops.length > 1) {
      L.polyline(stops.map((s) => [s.lat, s.lon]), {color: "#d81b60", weight: 4, opacity: 0.8, dashArray: "6 6"})
        .addTo(selectedLayer);
    }
    stops.forEach((s) => {
      L.marker([s.lat, s.lon], {icon: icon("stop-icon " + s.kind, s.seq, 18, {trip: s.trip_id, kind: s.kind}),
        title: `${s.seq}. ${s.kind} ${s.trip_id} ${hhmm(s.eta)} (${s.status || ""})`}).addTo(selectedLayer);
    });
  }

  function selectVehicle(vehicleId) {
    state.selected = vehicleId;
    drawVehicles();
    renderVehicleList();
    drawSelected();
  }

  // pick-up / drop-off by clicking the map
  map.on("click", (event) => {
    const end = state.picking;
    $(`${end}-lon`).value = event.latlng.lng.toFixed(6);
    $(`${end}-lat`).value = event.latlng.lat.toFixed(6);
    state.picking = end === "pickup" ? "dropoff" : "pickup";
    drawPins();
  });
  function drawPins() {
    pinLayer.clearLayers();
    ["pickup", "dropoff"].forEach((end) => {
      const lon = parseFloat($(`${end}-lon`).value), lat = parseFloat($(`${end}-lat`).value);
      if (Number.isFinite(lon) && Number.isFinite(lat)) {
        L.marker([lat, lon], {icon: icon("pin-icon " + end, undefined, 14), title: end}).addTo(pinLayer);
      }
    });
  }
  ["pickup-lon", "pickup-lat", "dropoff-lon", "dropoff-lat"].forEach((id) => $(id).addEventListener("change", drawPins));

  // ------------------------------------------------------------------ lists
  function classify(trips) {
    const unserved = [], late = [], risk = [];
    trips.forEach((t) => {
      if (t.status === "unserved") unserved.push(t);
      else if (ACTIVE.has(t.status) && typeof t.late_min === "number" && t.late_min > 0) late.push(t);
      else if (ACTIVE.has(t.status) && (t.reason || (typeof t.late_min === "number" && t.late_min > -AT_RISK_SLACK_MIN))) {
        risk.push(t);
      }
    });
    late.sort((a, b) => b.late_min - a.late_min);
    return {unserved, late, risk};
  }

  function tripItem(trip) {
    const item = el("li");
    item.dataset.trip = trip.id;
    const window_ = `${hhmm(trip.earliest_pickup)}–${hhmm(trip.latest_pickup)}`;
    let text = `${trip.id} · window ${window_}`;
    if (trip.vehicle_id) text += ` · ${trip.vehicle_id} ETA ${hhmm(trip.pickup_eta)}`;
    if (typeof trip.late_min === "number" && trip.late_min > 0) text += ` · ${trip.late_min.toFixed(0)} min late`;
    item.appendChild(el("span", text, trip.late_min > 0 ? "late" : ""));
    if (trip.reason) item.appendChild(el("span", trip.reason, "reason"));
    if (trip.vehicle_id) item.appendChild(button("Show", () => selectVehicle(trip.vehicle_id)));
    item.appendChild(button("Re-book", () => prefill(trip)));
    item.appendChild(button("Cancel", () => cancelTrip(trip.id)));
    return item;
  }

  function renderList(id, countId, trips) {
    const list = $(id);
    list.replaceChildren(...trips.map(tripItem));
    $(countId).textContent = `(${trips.length})`;
  }

  function renderVehicleList() {
    const list = $("vehicles");
    list.replaceChildren(...state.vehicles.map((v) => {
      const item = el("li", null, v.vehicle_id === state.selected ? "vehicle-selected" : "");
      item.dataset.vehicle = v.vehicle_id;
      const next = (v.next_stops || [])[0];
      item.appendChild(el("span", `${v.vehicle_id} · ${(v.status || "in_service").replace(/_/g, " ")}`
        + (next ? ` · next ${next.kind === "pickup" ? "pick-up" : "drop-off"} ${next.trip_id} ${hhmm(next.eta)}` : "")));
      item.appendChild(button("Show", () => {
        selectVehicle(v.vehicle_id);
        if (v.position) map.panTo([v.position.lat, v.position.lon]);
      }));
      return item;
    }));
    $("n-vehicles").textContent = `(${state.vehicles.length})`;
  }

  // ------------------------------------------------------------------ data
  async function fetchTrips() {
    const trips = [];
    for (let offset = 0; ; offset += PAGE) {
      const answer = await api("GET", `/v1/trips?date=${state.day}&limit=${PAGE}&offset=${offset}`);
      if (!answer.ok) break;
      trips.push(...answer.data);
      if (answer.data.length < PAGE) break;
    }
    return trips;
  }

  async function refresh() {
    if (state.busy) { // a change arrived meanwhile: one more refresh when this one is done
      state.again = true;
      return;
    }
    state.busy = true;
    try {
      const [vehicles, trips] = await Promise.all([api("GET", `/v1/vehicles?date=${state.day}`), fetchTrips()]);
      if (vehicles.ok) state.vehicles = vehicles.data;
      state.trips = trips;
      state.lastFull = Date.now();
      drawVehicles();
      renderVehicleList();
      const {unserved, late, risk} = classify(trips);
      renderList("unserved", "n-unserved", unserved);
      renderList("late", "n-late", late);
      renderList("risk", "n-risk", risk);
      await drawSelected();
      document.body.dataset.refreshed = String(state.lastFull); // tests wait on this
    } finally {
      state.busy = false;
      if (state.again) {
        state.again = false;
        refresh();
      }
    }
  }

  // ------------------------------------------------------------------ live updates
  // The server pushes each committed change of the day (GET /v1/events/stream, server-sent events read with fetch so
  // the key stays in a header); while that stream is down the page polls the plan version instead.
  function showLive() {
    document.body.dataset.live = state.stream && state.stream.live ? "stream" : "polling";
    $("live").textContent = (state.stream && state.stream.live ? "live" : "polling")
      + (state.version === null ? "" : ` · plan v${state.version}`);
  }

  function showClock(now, speed) {
    $("clock").textContent = `server clock ${hhmm(now)}` + (speed && speed !== 1 ? ` (${speed}×)` : "");
  }

  async function tickClock() {
    if (!state.key) return;
    const clock = await api("GET", "/v1/clock");
    if (clock.ok && clock.data) showClock(clock.data.now, clock.data.speed);
    if (state.stream && state.stream.live && Date.now() - state.lastFull > STREAM_REFRESH_MS) refresh();
  }

  function changed(version) {
    if (version !== null && version === state.version) return;
    state.version = version;
    showLive();
    refresh();
  }

  async function poll() {
    if (!state.key) return;
    const version = await api("GET", `/v1/plan-version?date=${state.day}`);
    const current = version.ok && version.data ? version.data.version : null;
    if (current === null || current !== state.version) changed(current);
    else if (Date.now() - state.lastFull > FULL_REFRESH_MS) refresh(); // e.g. an unserved booking: no plan change
  }

  function startPolling() {
    if (state.timer || !state.key) return;
    state.timer = setInterval(poll, POLL_MS);
    showLive();
    poll();
  }

  function stopPolling() {
    clearInterval(state.timer);
    state.timer = null;
  }

  function onStreamEvent(block) {
    let kind = "message", data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) kind = line.slice(6).trim();
      else if (line.startsWith("data:")) data += line.slice(5).trim();
    }
    if (!data) return; // a keep-alive comment or the retry hint
    const message = JSON.parse(data);
    if (kind === "hello") {
      showClock(message.now, message.speed);
      changed(message.version); // a reconnect refetches only if something changed meanwhile
    } else if (kind === "plan" && message.date === state.day) {
      state.version = null; // always refetch: the message names what changed, the lists show all of it
      changed(message.version);
    }
  }

  async function openStream() {
    if (!state.key || state.stream) return;
    const stream = {controller: new AbortController(), live: false, closed: false, opened: Date.now()};
    state.stream = stream;
    try {
      const response = await fetch(`/v1/events/stream?date=${state.day}`, {cache: "no-store",
        headers: {"Authorization": "Bearer " + state.key}, signal: stream.controller.signal});
      if (response.status === 401) signOut("The key was refused (missing, invalid or revoked).");
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      stream.live = true;
      stopPolling();
      showLive();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += value.replaceAll("\r\n", "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          onStreamEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      // aborted (sign-out, another day) or the network failed: decided below
    }
    if (state.stream === stream) state.stream = null;
    if (stream.closed || !state.key) return;
    if (stream.live && Date.now() - stream.opened >= STREAM_MIN_MS) {
      openStream(); // the server closes each stream after a while: reopen at once
      return;
    }
    startPolling();
    setTimeout(openStream, STREAM_RETRY_MS);
  }

  function closeStream() { // on purpose (sign-out, another day): no fallback
    if (state.stream) {
      state.stream.closed = true;
      state.stream.controller.abort();
    }
    state.stream = null;
  }

  // ------------------------------------------------------------------ booking
  function tripBody() {
    const num = (id) => parseFloat($(id).value);
    const body = {pickup: {lon: num("pickup-lon"), lat: num("pickup-lat")},
      dropoff: {lon: num("dropoff-lon"), lat: num("dropoff-lat")},
      earliest_pickup: `${state.day}T${$("earliest").value}`, latest_pickup: `${state.day}T${$("latest").value}`,
      wheelchair: $("wheelchair").checked, companions: parseInt($("companions").value || "0", 10)};
    if ($("user-ref").value) body.user_ref = $("user-ref").value;
    if (state.me.role === "admin" && $("operator").value) body.operator = $("operator").value;
    return body;
  }

  function showOffers(offers) {
    $("offers").replaceChildren(...offers.map((offer) => {
      const item = el("li", `pick-up ${hhmm(offer.pickup_eta)}, drop-off ${hhmm(offer.dropoff_eta)}`
        + (offer.expires_at ? ` (offer valid until ${hhmm(offer.expires_at)})` : ""));
      item.dataset.offer = offer.offer_id;
      item.appendChild(button("Book", () => book(offer.offer_id)));
      return item;
    }));
  }

  async function askOffers(event) {
    event.preventDefault();
    $("book-message").textContent = "";
    const answer = await api("POST", "/v1/trips/offers", tripBody());
    if (!answer.ok) {
      showOffers([]);
      $("book-message").textContent = detail(answer);
      return;
    }
    showOffers(answer.data.offers);
    if (!answer.data.offers.length) $("book-message").textContent = "No vehicle can take this trip in its window.";
  }

  async function book(offerId) {
    const answer = await api("POST", `/v1/trips/offers/${encodeURIComponent(offerId)}/book`);
    if (answer.status === 409) {
      showOffers((answer.data && answer.data.offers) || []);
      $("book-message").textContent = detail(answer) + " — fresh offers above.";
      return;
    }
    if (!answer.ok) {
      $("book-message").textContent = detail(answer) + (answer.status === 404 ? " — ask for offers again." : "");
      return;
    }
    const trip = answer.data;
    showOffers([]);
    let message = `Booked ${trip.id}` + (trip.vehicle_id ? ` on ${trip.vehicle_id}, pick-up ${hhmm(trip.pickup_eta)}` : "");
    if (state.replacing) {
      const cancelled = await api("POST", `/v1/trips/${encodeURIComponent(state.replacing)}/cancel`);
      message += cancelled.ok ? `; ${state.replacing} cancelled` : `; ${state.replacing} NOT cancelled: ${detail(cancelled)}`;
      setReplacing(null);
    }
    $("book-message").textContent = message;
    $("book-message").dataset.trip = trip.id;
    if (trip.vehicle_id) state.selected = trip.vehicle_id;
    await refresh();
  }

  function setReplacing(tripId) {
    state.replacing = tripId;
    $("replacing").hidden = !tripId;
    $("replacing").textContent = tripId ? `Re-booking ${tripId}: it is cancelled once the new booking is made.` : "";
  }

  function prefill(trip) { // re-book: the same trip as a new booking (e.g. on a vehicle that has since freed up)
    $("pickup-lon").value = trip.pickup.lon; $("pickup-lat").value = trip.pickup.lat;
    $("dropoff-lon").value = trip.dropoff.lon; $("dropoff-lat").value = trip.dropoff.lat;
    $("earliest").value = hhmm(trip.earliest_pickup); $("latest").value = hhmm(trip.latest_pickup);
    $("wheelchair").checked = trip.wheelchair; $("companions").value = trip.companions;
    if (state.me.role === "admin" && trip.operator) $("operator").value = trip.operator;
    setReplacing(trip.id);
    drawPins();
    $("book-form").scrollIntoView();
  }

  async function cancelTrip(tripId) {
    if (!window.confirm(`Cancel trip ${tripId}?`)) return;
    const answer = await api("POST", `/v1/trips/${encodeURIComponent(tripId)}/cancel`);
    $("book-message").textContent = answer.ok ? `Cancelled ${tripId}` : `${tripId}: ${detail(answer)}`;
    await refresh();
  }

  // ------------------------------------------------------------------ session
  function signOut(message) {
    sessionStorage.removeItem(KEY_STORE);
    state.key = null;
    closeStream();
    stopPolling();
    clearInterval(state.clockTimer);
    $("app").hidden = true;
    $("signin").hidden = false;
    $("signout").hidden = true;
    $("who").textContent = "";
    $("signin-error").textContent = message || "";
  }

  async function drawDistricts() { // outlines for orientation on the blank (offline) background
    const answer = await api("GET", "/v1/console/districts");
    if (!answer.ok) return;
    districtLayer.clearLayers();
    const outlines = L.geoJSON(answer.data, {interactive: false,
      style: {color: "#37474f", weight: 2, opacity: 0.6, fill: false}}).addTo(districtLayer);
    map.fitBounds(outlines.getBounds());
  }

  async function start() {
    const answer = await api("GET", "/v1/console/me");
    if (!answer.ok) {
      if (answer.status !== 401) signOut(answer.status === 403 ? "This key is not a dispatcher or admin key." : detail(answer));
      return;
    }
    state.me = answer.data;
    $("who").textContent = `${answer.data.role}${answer.data.operator ? " · " + answer.data.operator : ""}`;
    $("operator-label").hidden = answer.data.role !== "admin";
    $("operator").replaceChildren(el("option", "any"), ...answer.data.operators.map((o) => el("option", o)));
    $("operator").firstChild.value = "";
    const clock = await api("GET", "/v1/clock");
    state.day = $("day").value || (clock.ok && clock.data ? clock.data.now.slice(0, 10) : almatyToday());
    $("day").value = state.day;
    $("signin").hidden = true;
    $("app").hidden = false;
    $("signout").hidden = false;
    map.invalidateSize();
    await drawDistricts();
    state.version = null;
    await tickClock();
    clearInterval(state.clockTimer);
    state.clockTimer = setInterval(tickClock, CLOCK_MS);
    showLive();
    openStream(); // its first message refreshes the page; without it, polling does
  }

  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("key").value.trim();
    $("key").value = "";
    sessionStorage.setItem(KEY_STORE, state.key);
    start();
  });
  $("signout").addEventListener("click", () => signOut());
  $("book-form").addEventListener("submit", askOffers);
  $("earliest").addEventListener("change", () => {
    if ($("latest").value || !$("earliest").value) return;
    const [h, m] = $("earliest").value.split(":").map(Number), end = Math.min(h * 60 + m + 30, 23 * 60 + 59);
    $("latest").value = `${String(Math.floor(end / 60)).padStart(2, "0")}:${String(end % 60).padStart(2, "0")}`;
  });
  $("day").addEventListener("change", () => {
    state.day = $("day").value;
    state.version = null;
    state.selected = null;
    if (!state.key) return;
    closeStream();
    if (state.timer) poll();
    openStream();
  });

  window.invaplanConsole = { // views for the browser tests, and a way to cut the event stream
    vehiclePosition: (id) => { const m = vehicleMarkers.get(id); return m ? [m.getLatLng().lng, m.getLatLng().lat] : null; },
    stopTrips: () => Array.from(document.querySelectorAll(".stop-icon span")).map((s) => s.dataset.trip),
    dropStream: () => { if (state.stream) state.stream.controller.abort(); }, // as a lost connection would
  };

  if (state.key) start(); else signOut();
})();
