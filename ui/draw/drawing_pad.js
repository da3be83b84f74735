// The Draw page's drawing pad (ui/draw/drawing_pad.py): freehand strokes with pointer events
// (mouse, pen, touch), sent to Python at once when the pen lifts, with no debounce.
//
// Streamlit calls this function again on every rerun that brings new props, with the same
// parentElement for as long as the pad stays mounted under the same key. The pad (its canvas
// and its strokes) is made once per parentElement and kept in `pads`, so a rerun never resets
// it: a stroke drawn while the rerun from the previous one is in flight stays, and the next
// send holds every stroke. `data.strokes` (a restored drawing) is read only when the pad is
// made. A new key (Clear) mounts a new parentElement, hence an empty pad. Nothing to clean up:
// the listeners are on the canvas, which goes with its parentElement.

const pads = new WeakMap();

function paint(context, strokes, pen) {
  context.lineWidth = pen;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = "#000000";
  context.fillStyle = "#000000";
  for (const points of strokes) {
    const [x0, y0] = points[0];
    context.beginPath();
    if (points.length === 1) {
      context.arc(x0, y0, pen / 2, 0, 2 * Math.PI); // a tap: a dot as wide as the pen
      context.fill();
      continue;
    }
    context.moveTo(x0, y0);
    for (let i = 1; i < points.length - 1; i++) {
      // Through the midpoints, each point a control point: a smooth curve, like Fabric's pencil.
      const [x, y] = points[i];
      const [xNext, yNext] = points[i + 1];
      context.quadraticCurveTo(x, y, (x + xNext) / 2, (y + yNext) / 2);
    }
    const [xLast, yLast] = points[points.length - 1];
    context.lineTo(xLast, yLast);
    context.stroke();
  }
}

// The drawing as Python reads it: a size x size PNG (whatever the screen's pixel ratio),
// black ink on a transparent background.
function pngDataUrl(strokes, size, pen) {
  const image = document.createElement("canvas");
  image.width = size;
  image.height = size;
  paint(image.getContext("2d"), strokes, pen);
  return image.toDataURL("image/png");
}

function makePad(parentElement, data) {
  const { size, pen } = data;
  const canvas = document.createElement("canvas");
  canvas.className = "drawing-pad";
  canvas.setAttribute("role", "img");
  canvas.style.width = `${size}px`;
  canvas.style.height = `${size}px`;
  const ratio = window.devicePixelRatio || 1; // sharp on a high-density screen
  canvas.width = Math.round(size * ratio);
  canvas.height = Math.round(size * ratio);
  parentElement.appendChild(canvas);

  const pad = {
    canvas,
    strokes: (data.strokes || []).map((points) => points.map(([x, y]) => [x, y])),
    pointerId: null, // the pointer drawing the current stroke, null with the pen up
    send: null, // the latest setStateValue
  };
  const context = canvas.getContext("2d");
  const repaint = () => {
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.setTransform(canvas.width / size, 0, 0, canvas.height / size, 0, 0);
    paint(context, pad.strokes, pen);
  };
  const pointOf = (event) => {
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) * size) / box.width;
    const y = ((event.clientY - box.top) * size) / box.height;
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  };
  const current = () => pad.strokes[pad.strokes.length - 1];

  canvas.addEventListener("pointerdown", (event) => {
    if (pad.pointerId !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    pad.pointerId = event.pointerId;
    pad.strokes.push([pointOf(event)]);
    repaint();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (event.pointerId !== pad.pointerId) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const moved of events.length ? events : [event]) current().push(pointOf(moved));
    repaint();
  });
  const penUp = (event) => {
    if (event.pointerId !== pad.pointerId) return;
    pad.pointerId = null;
    const strokes = pad.strokes.map((points) => points.slice());
    pad.send("drawing", { strokes, image: pngDataUrl(strokes, size, pen) });
  };
  canvas.addEventListener("pointerup", penUp);
  canvas.addEventListener("pointercancel", penUp); // keep what was drawn
  canvas.addEventListener("lostpointercapture", penUp);

  repaint();
  return pad;
}

export default function drawingPad({ data, parentElement, setStateValue }) {
  let pad = pads.get(parentElement);
  if (!pad) {
    pad = makePad(parentElement, data);
    pads.set(parentElement, pad);
  }
  pad.send = setStateValue;
  pad.canvas.setAttribute("aria-label", data.label);
}
