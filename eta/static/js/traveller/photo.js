// Photo page: take the photo with the camera (getUserMedia), as a progressive enhancement.
// Without this file (or a camera, or permission) the page is a plain upload form. With it, a
// preview and "Take photo" capture one frame into a canvas; "Use this photo" puts that frame,
// as a JPEG, into the page's file input and sends the form: the server sees an upload either way.
(function () {
  "use strict";
  var camera = document.getElementById("camera");
  var form = document.getElementById("photo-form");
  var input = document.getElementById("photo");
  if (!camera || !form || !input) {
    return;
  }
  var media = navigator.mediaDevices;
  if (!media || !media.getUserMedia || typeof DataTransfer === "undefined" ||
      !HTMLCanvasElement.prototype.toBlob) {
    return; // an older browser: the upload alone
  }
  var video = document.getElementById("camera-preview");
  var canvas = document.getElementById("camera-capture");
  var take = document.getElementById("camera-take");
  var use = document.getElementById("camera-use");
  var retake = document.getElementById("camera-retake");
  var status = document.getElementById("camera-status");
  var stream = null;

  function show(element, shown) {
    element.hidden = !shown;
  }

  function stop() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }
  }

  function previewing(live) {
    show(video, live);
    show(take, live);
    show(canvas, !live);
    show(use, !live);
    show(retake, !live);
  }

  camera.hidden = false;
  take.disabled = true;
  status.textContent = camera.getAttribute("data-starting");
  media.getUserMedia({
    video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } },
    audio: false
  }).then(function (granted) {
    stream = granted;
    video.srcObject = granted;
  }).catch(function () {
    // No camera, or permission refused: say so, and leave the upload.
    status.textContent = camera.getAttribute("data-unavailable");
    show(video, false);
    show(take, false);
  });

  // "Take photo" works once the camera gives frames, not merely once it is granted.
  video.addEventListener("loadeddata", function () {
    status.textContent = camera.getAttribute("data-ready");
    take.disabled = false;
  });

  take.addEventListener("click", function () {
    if (!video.videoWidth) {
      return; // no frame yet
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    previewing(false);
    status.textContent = camera.getAttribute("data-taken");
    use.focus();
  });

  retake.addEventListener("click", function () {
    previewing(true);
    status.textContent = camera.getAttribute("data-ready");
    take.focus();
  });

  use.addEventListener("click", function () {
    use.disabled = true;
    canvas.toBlob(function (blob) {
      if (!blob) {
        use.disabled = false;
        return;
      }
      var files = new DataTransfer();
      files.items.add(new File([blob], "camera.jpg", { type: "image/jpeg" }));
      input.files = files.files;
      stop();
      form.submit();
    }, "image/jpeg", 0.92);
  });

  window.addEventListener("pagehide", stop);
})();
