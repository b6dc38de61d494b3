// Quasar's QUploader sending each file in its own request straight to POST /api/upload, so
// every file has its own progress bar and its own answer. A refused file shows the server's
// reason under its name; accepted files are announced to the page ("accepted").
export default {
  template: `
    <q-uploader
      ref="uploader"
      :url="url"
      field-name="files"
      :label="label"
      multiple
      auto-upload
      @uploaded="onUploaded"
      @failed="onFailed"
    >
      <template v-slot:header="scope">
        <div class="row no-wrap items-center q-pa-sm q-gutter-xs">
          <q-icon name="cloud_upload" size="24px" class="q-mx-sm" />
          <div class="col">
            <div class="q-uploader__title">{{ label }}</div>
            <div class="q-uploader__subtitle" data-testid="upload-summary">{{ summaryOf(scope.files) }}</div>
          </div>
          <q-spinner v-if="scope.isUploading" size="20px" />
          <q-btn v-if="scope.canAddFiles" type="a" icon="add_box" round dense flat aria-label="Choose files">
            <q-uploader-add-trigger />
            <q-tooltip>Choose files</q-tooltip>
          </q-btn>
          <q-btn
            v-if="scope.files.length && !scope.isUploading"
            icon="clear_all" round dense flat aria-label="Clear the list"
            data-testid="upload-clear"
            @click="clear"
          >
            <q-tooltip>Clear the list</q-tooltip>
          </q-btn>
          <q-btn v-if="scope.isUploading" icon="clear" round dense flat aria-label="Stop uploading" @click="scope.abort">
            <q-tooltip>Stop uploading</q-tooltip>
          </q-btn>
        </div>
      </template>
      <template v-slot:list="scope">
        <div v-if="scope.files.length === 0" class="vz-upload-hint column items-center q-pa-md text-grey-7">
          <q-icon name="cloud_upload" size="40px" color="grey-5" />
          <div class="text-body2">{{ hint }}</div>
        </div>
        <div
          v-for="file in scope.files"
          :key="file.__key"
          class="vz-upload-file q-py-xs"
          data-testid="upload-file"
          :data-name="file.name"
          :data-status="stateOf(file)"
        >
          <div class="row items-center no-wrap q-gutter-x-sm">
            <q-icon :name="iconOf(file)" :color="colorOf(file)" size="20px" />
            <div class="col ellipsis text-body2" :title="file.name">{{ file.name }}</div>
            <div class="text-caption text-grey-7">{{ file.__sizeLabel }}</div>
            <q-btn
              v-if="file.__status !== 'uploading'"
              flat round dense size="sm" icon="close"
              aria-label="Remove from the list"
              @click="scope.removeFile(file)"
            />
          </div>
          <q-linear-progress
            :value="file.__progress"
            :color="colorOf(file)"
            track-color="grey-3"
            rounded size="6px"
            :indeterminate="file.__status === 'uploading' && file.__progress === 0"
            data-testid="upload-file-progress"
          />
          <div
            class="text-caption"
            :class="stateOf(file) === 'refused' ? 'text-negative' : 'text-grey-7'"
            data-testid="upload-file-message"
          >{{ messageOf(file) }}</div>
        </div>
      </template>
    </q-uploader>
  `,
  props: {
    url: String,
    label: String,
    hint: String,
  },
  data() {
    // Keyed by QUploader's file key; reactive, so a reason shows as soon as it is known.
    return { reasons: {} };
  },
  methods: {
    stateOf(file) {
      if (this.reasons[file.__key] !== undefined) return "refused";
      if (file.__status === "uploaded") return "accepted";
      return file.__status; // idle, uploading
    },
    iconOf(file) {
      return { refused: "error", accepted: "check_circle", uploading: "upload" }[this.stateOf(file)] || "schedule";
    },
    colorOf(file) {
      return { refused: "negative", accepted: "positive" }[this.stateOf(file)] || "primary";
    },
    messageOf(file) {
      const state = this.stateOf(file);
      if (state === "refused") return this.reasons[file.__key];
      if (state === "accepted") return "Uploaded";
      if (state === "uploading") return `Uploading ${file.__progressLabel}`;
      return "Waiting";
    },
    summaryOf(files) {
      if (!files.length) return "Nothing uploaded yet";
      const states = files.map((file) => this.stateOf(file));
      const count = (state) => states.filter((s) => s === state).length;
      const busy = count("uploading") + count("idle");
      const parts = [];
      if (busy) parts.push(`uploading ${busy} of ${files.length}`);
      if (count("accepted")) parts.push(`${count("accepted")} accepted`);
      if (count("refused")) parts.push(`${count("refused")} refused`);
      const text = parts.join(" · ");
      return text.charAt(0).toUpperCase() + text.slice(1);
    },
    onUploaded({ files, xhr }) {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch (error) {
        body = {};
      }
      const rejected = body.rejected || [];
      files.forEach((file) => {
        const refusal = rejected.find((item) => item.filename === file.name);
        if (refusal) this.reasons[file.__key] = this.sentence(refusal.message);
      });
      const ids = (body.images || []).map((image) => image.id);
      if (ids.length) this.$emit("accepted", { ids });
    },
    onFailed({ files, xhr }) {
      const reason = this.reasonOf(xhr);
      files.forEach((file) => {
        this.reasons[file.__key] = reason;
      });
      this.$emit("refused", { names: files.map((file) => file.name), reason });
    },
    reasonOf(xhr) {
      if (!xhr.status) return "The upload did not reach the server. Check the connection and try again.";
      try {
        const error = JSON.parse(xhr.responseText).error || {};
        const rejected = (error.details || {}).rejected || [];
        if (rejected.length) return this.sentence(rejected[0].message);
        if (xhr.status === 401) return "Your upload link has expired. Reload the page and try again.";
        if (error.message) return this.sentence(error.message);
      } catch (error) {
        // not our JSON error shape (a proxy's page): fall through
      }
      return `The server refused the upload (HTTP ${xhr.status}).`;
    },
    sentence(text) {
      const trimmed = String(text).trim();
      const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
      return /[.!?]$/.test(capital) ? capital : `${capital}.`;
    },
    clear() {
      this.reasons = {};
      this.$refs.uploader.reset();
    },
  },
};
