// An image on a dark stage that zooms with the mouse wheel (around the pointer), pans by
// dragging, and resets on double-click or reset(). All of it stays in the browser: moving
// the picture never asks the server for anything.
export default {
  template: `
    <div
      ref="stage"
      class="vz-stage"
      :class="{ 'vz-grabbing': dragging !== null }"
      @wheel.prevent="onWheel"
      @pointerdown="onDown"
      @pointermove="onMove"
      @pointerup="onUp"
      @pointercancel="onUp"
      @dblclick="reset"
    >
      <img
        v-if="src"
        ref="img"
        :src="src"
        :alt="alt"
        draggable="false"
        class="vz-picture"
        :style="pictureStyle"
        data-testid="viewer-image"
        :data-loaded="loadedSrc === src ? 'true' : 'false'"
        @load="onLoad"
        @error="onError"
      />
      <div v-if="src && loadedSrc !== src && !failed" class="vz-busy">
        <q-spinner size="28px" color="white" />
      </div>
      <div v-if="failed" class="vz-failed" data-testid="viewer-image-error">
        This view could not be rendered.
      </div>
      <div class="vz-zoom" data-testid="viewer-zoom">{{ Math.round(scale * 100) }}%</div>
    </div>
  `,
  props: {
    src: String,
    alt: String,
  },
  data() {
    return { scale: 1, x: 0, y: 0, dragging: null, loadedSrc: null, failed: false };
  },
  computed: {
    pictureStyle() {
      return { transform: `translate(${this.x}px, ${this.y}px) scale(${this.scale})` };
    },
  },
  watch: {
    src() {
      this.failed = false;
    },
  },
  methods: {
    onWheel(event) {
      const rect = this.$refs.stage.getBoundingClientRect();
      // The pointer relative to the stage's centre, where the picture's transform starts.
      const px = event.clientX - rect.left - rect.width / 2;
      const py = event.clientY - rect.top - rect.height / 2;
      const factor = Math.exp(-event.deltaY * 0.0015);
      const scale = Math.min(16, Math.max(0.25, this.scale * factor));
      const ratio = scale / this.scale;
      // Keep the point under the pointer where it is.
      this.x = px - (px - this.x) * ratio;
      this.y = py - (py - this.y) * ratio;
      this.scale = scale;
      this.$emit("view", { scale: this.scale });
    },
    onDown(event) {
      if (event.button !== 0) return;
      this.dragging = { id: event.pointerId, x: event.clientX - this.x, y: event.clientY - this.y };
      this.$refs.stage.setPointerCapture(event.pointerId);
    },
    onMove(event) {
      if (this.dragging === null || event.pointerId !== this.dragging.id) return;
      this.x = event.clientX - this.dragging.x;
      this.y = event.clientY - this.dragging.y;
    },
    onUp(event) {
      if (this.dragging === null || event.pointerId !== this.dragging.id) return;
      this.dragging = null;
      if (this.$refs.stage.hasPointerCapture(event.pointerId)) {
        this.$refs.stage.releasePointerCapture(event.pointerId);
      }
    },
    onLoad(event) {
      this.loadedSrc = event.target.getAttribute("src");
      this.failed = false;
    },
    onError() {
      this.failed = true;
    },
    reset() {
      this.scale = 1;
      this.x = 0;
      this.y = 0;
      this.$emit("view", { scale: 1 });
    },
  },
};
